"""The registry ``kernels.get`` and the shared furniture of the variant modules.

Every variant exposes the same public functions as ``vectorized.py``, with the
same parameters and defaults, defined in the same order in its own file, so
that the files can be read side by side.
"""

import importlib.util
import inspect

import pytest

import kernels
from kernels import contract, loops, vectorized


def module_exists(variant):
    return importlib.util.find_spec(f"kernels.{kernels.VARIANTS[variant]}") is not None


def variant_module(variant):
    """The module of a variant (cuda too: numba-cuda is in the test extra, and the tests run
    it under the simulator where there is no GPU)."""
    return kernels.get(variant)


def python_function(obj):
    """The Python function behind a plain function or a Numba dispatcher, else None."""
    function = getattr(obj, "py_func", obj)
    return function if inspect.isfunction(function) else None


def public_functions(module):
    """``{name: function}`` of the public functions defined in the variant's own file
    (imports, from ``contract`` or from helper modules, are not its furniture)."""
    functions = {}
    for name, obj in vars(module).items():
        function = python_function(obj)
        if name.startswith("_") or function is None:
            continue
        if inspect.getsourcefile(function) == inspect.getsourcefile(module):
            functions[name] = function
    return functions


def definition_order(module):
    """Public function names in the order of their ``def`` in the module's file."""
    functions = public_functions(module)
    return sorted(functions, key=lambda name: inspect.getsourcelines(functions[name])[1])


# ---------------------------------------------------------------------------
# kernels.get
# ---------------------------------------------------------------------------


def test_get_returns_each_variant_module():
    assert kernels.get("numpy") is vectorized
    assert kernels.get("loops") is loops
    assert kernels.get("numba").__name__ == "kernels.jit"


def test_get_cuda_is_the_module_or_a_clear_import_error():
    if module_exists("cuda"):
        assert variant_module("cuda").__name__ == "kernels.cuda"
    else:
        with pytest.raises(
            ImportError, match=r"kernel variant 'cuda' is not available.*fastnn\[cuda\]"
        ):
            kernels.get("cuda")


@pytest.mark.parametrize("name", ["NumPy", "jit", "", None, ["numpy"]])
def test_unknown_variant_is_a_value_error_naming_the_choices(name):
    with pytest.raises(ValueError) as error:
        kernels.get(name)
    message = str(error.value)
    assert "variant must be one of" in message
    assert all(repr(choice) in message for choice in kernels.VARIANTS)


def test_every_variant_name_maps_to_a_module_name():
    assert set(kernels.VARIANTS) == {"loops", "numpy", "numba", "cuda"}
    assert kernels.VARIANTS["numpy"] == "vectorized"


# ---------------------------------------------------------------------------
# The same furniture in every room
# ---------------------------------------------------------------------------

#: Each variant is compared with the reference, the file that is not compared with itself.
VARIANTS_TO_COMPARE = [name for name, module in kernels.VARIANTS.items() if module != "vectorized"]


def test_reference_exposes_the_contract():
    """Every function ``contract.Variant`` states is defined in the reference's own file."""
    stated = [
        name
        for name, _ in inspect.getmembers(contract.Variant, inspect.isfunction)
        if not name.startswith("_")
    ]
    missing = set(stated) - set(definition_order(vectorized))
    assert stated and not missing, missing


@pytest.mark.parametrize("variant", VARIANTS_TO_COMPARE)
def test_same_public_functions_in_the_same_order(variant):
    module = variant_module(variant)
    expected = definition_order(vectorized)
    actual = definition_order(module)
    missing = [name for name in expected if name not in actual]
    extra = [name for name in actual if name not in expected]
    assert not missing and not extra, (
        f"{variant}: missing {missing} (each defined in the variant's own file, a thin wrapper "
        f"will do, so the files read side by side), not in the reference {extra}"
    )
    assert actual == expected


@pytest.mark.parametrize("variant", VARIANTS_TO_COMPARE)
def test_same_parameters_and_defaults(variant):
    module = variant_module(variant)
    reference, functions = public_functions(vectorized), public_functions(module)
    for name, function in reference.items():
        if name not in functions:
            continue  # reported by the test above
        expected = [(p.name, p.default) for p in inspect.signature(function).parameters.values()]
        parameters = inspect.signature(functions[name]).parameters.values()
        actual = [(p.name, p.default) for p in parameters]
        assert actual == expected, f"{variant}.{name}"


# ---------------------------------------------------------------------------
# The contract's names
# ---------------------------------------------------------------------------


def test_activation_codes_cover_every_activation_once():
    names = contract.HIDDEN_ACTIVATIONS + ("softmax",)
    assert sorted(contract.activation_code(name) for name in names) == list(range(len(names)))
    assert set(contract.OUTPUT_COSTS) <= set(names)


@pytest.mark.parametrize("bad", ["swish", None, ["relu"]])
def test_unknown_activation_code_names_the_choices(bad):
    with pytest.raises(ValueError, match="activation must be one of"):
        contract.activation_code(bad)


def test_output_activation_check():
    assert contract.check_output_activation("softmax") == "softmax"
    with pytest.raises(ValueError, match="output activation must be one of"):
        contract.check_output_activation("relu")
