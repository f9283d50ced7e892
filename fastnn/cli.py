"""The ``fastnn`` command line: ``compare``, ``train``, ``predict`` and ``example-data``.

``fastnn compare`` times the kernel variants side by side (see ``fastnn.compare``);
``fastnn train`` fits an estimator on a CSV file and saves it; ``fastnn predict``
loads it and writes predictions; ``fastnn example-data`` writes the planar
"flower" data as CSV. CSV files are read and written by ``fastnn.csv_io``.

Exit status: 0 on success; 1 for an error in the user's input, files or
environment, reported in one line on stderr (``--debug`` shows the traceback
instead); 2 for a usage error, as argparse does; 130 after Ctrl-C; 141 when
standard output is closed early (``fastnn predict ... | head``), silently.
"""

import argparse
import math
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

import kernels
from kernels.contract import SCHEDULES

from . import compare as comparison
from . import csv_io, datasets
from .early_stopping import validation_split
from .estimators import MLPClassifier, MLPRegressor
from .exceptions import TrainingDivergedError, TrainingInterruptedWarning
from .persistence import load, save

EXIT_ERROR = 1
#: 128 + SIGINT and 128 + SIGPIPE: what a shell reports for a command stopped by them.
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

ESTIMATORS = {"classify": MLPClassifier, "regress": MLPRegressor}
MEASURES = {"classify": "accuracy", "regress": "R^2"}


class UserError(Exception):
    """An error in the user's input: reported in one line, exit status 1."""


# ---------------------------------------------------------------------------
# Argument types
# ---------------------------------------------------------------------------


def _int_list(text):
    """``"20,7,5"`` -> ``(20, 7, 5)``; ``""`` -> ``()`` (no hidden layer)."""
    if not text.strip():
        return ()
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 20,7,5, got {text!r}"
        ) from None
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"sizes must be >= 1, got {text!r}")
    return values


def _name_list(text):
    """``"relu"`` -> ``"relu"``; ``"relu,tanh"`` -> ``("relu", "tanh")``."""
    names = tuple(part.strip() for part in text.split(","))
    return names[0] if len(names) == 1 else names


def _column_list(text):
    """``"id,date"`` -> ``["id", "date"]`` (column names, for --drop)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _variant_list(text):
    """``"numpy,numba"`` -> ``("numpy", "numba")``, each a kernel variant."""
    names = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in names if name not in comparison.VARIANTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown variant {unknown[0]!r}; choose from {','.join(comparison.VARIANTS)}"
        )
    return names


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _batch_size(text):
    # the API's None (one batch of every example) has a word on the command line
    return None if text.strip().lower() == "full" else _positive_int(text)


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text):
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _non_negative_float(text):
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _momentum(text):
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def _unit_interval(text):
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def _boolean(text):
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.lower() not in words:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return words[text.lower()]


def _fraction(text):
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1), got {text!r}")
    return value


# ---------------------------------------------------------------------------
# train's estimator options: one line each; the defaults are the estimators'
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hyperparameter:
    """An estimator hyperparameter that ``train`` exposes as ``--name-with-dashes``."""

    name: str
    type: object
    metavar: str
    help: str
    choices: tuple = None
    #: what a default of None means, for the help
    none: str = "none"

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")


#: Adding an estimator option to the command line is one line here.
HYPERPARAMETERS = (
    Hyperparameter("hidden", _int_list, "N,N,...", "hidden layer sizes, '' for none"),
    Hyperparameter(
        "activation",
        _name_list,
        "NAME[,NAME...]",
        "hidden activation: relu, leaky_relu, tanh, sigmoid or linear, one name or "
        "one per hidden layer",
    ),
    Hyperparameter(
        "solver", str, None, "update rule: the notes' gradient descent or Adam", ("sgd", "adam")
    ),
    Hyperparameter("learning_rate", _positive_float, "RATE", "(initial) learning rate"),
    Hyperparameter(
        "learning_rate_schedule", str, None, "how the rate changes per epoch", SCHEDULES
    ),
    Hyperparameter(
        "decay_rate",
        _non_negative_float,
        "RATE",
        "the schedule's decay (in (0, 1] for exponential)",
    ),
    Hyperparameter("decay_epochs", _positive_int, "N", "epochs between the schedule's steps"),
    Hyperparameter("epochs", _positive_int, "N", "epochs of training"),
    Hyperparameter(
        "batch_size", _batch_size, "N|full", "mini-batch size, 'full' for full batch", none="full"
    ),
    Hyperparameter("momentum", _momentum, "BETA", "sgd's momentum (the course's), in [0, 1)"),
    Hyperparameter("beta_1", _unit_interval, "BETA", "adam's first-moment decay, in [0, 1)"),
    Hyperparameter("beta_2", _unit_interval, "BETA", "adam's second-moment decay, in [0, 1)"),
    Hyperparameter("epsilon", _positive_float, "EPS", "adam's denominator term"),
    Hyperparameter("l2", _non_negative_float, "LAMBDA", "L2 regularisation strength"),
    Hyperparameter(
        "early_stopping",
        _boolean,
        "true|false",
        "stop when the cost on a held-out validation split stops improving",
    ),
    Hyperparameter(
        "validation_fraction",
        _fraction,
        "FRACTION",
        "rows the estimator holds out for early stopping",
    ),
    Hyperparameter(
        "n_iter_no_change", _positive_int, "N", "epochs without improvement before early stopping"
    ),
    Hyperparameter("tol", _non_negative_float, "TOL", "the improvement that counts"),
    Hyperparameter("backend", str, None, "kernel variant", tuple(kernels.VARIANTS)),
    Hyperparameter("dtype", str, None, "floating-point type", ("float64", "float32")),
    Hyperparameter(
        "seed",
        int,
        "N",
        "seed of the initial parameters, the batch order and the --validation split",
        none="0",
    ),
)


def _shown(value, none):
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value) or "''"
    return none if value is None else str(value)


def api_default(hyperparameter):
    """The estimators' default of a hyperparameter, as the help shows it (one owner:
    ``get_params`` of a fresh estimator)."""
    defaults = {
        task: _shown(cls().get_params()[hyperparameter.name], hyperparameter.none)
        for task, cls in ESTIMATORS.items()
    }
    if len(set(defaults.values())) == 1:
        return defaults["classify"]
    return ", ".join(f"{value} to {task}" for task, value in defaults.items())


def estimator_options(args):
    """The hyperparameters given on the command line (the others keep the defaults)."""
    return {h.name: getattr(args, h.name) for h in HYPERPARAMETERS if hasattr(args, h.name)}


# ---------------------------------------------------------------------------
# Helpers of the commands
# ---------------------------------------------------------------------------


def _require_gpu(what):
    if not comparison.gpu_present():
        raise UserError(
            f"{what} needs a CUDA GPU (and numba-cuda: pip install 'fastnn[cuda]'), "
            "and none was found; use --backend numba to run on the CPU"
        )


def _columns(table, names):
    """Indices of the named columns (a CSVError names an unknown one)."""
    return [table.column(name) for name in names]


def held_out_split(y, fraction, seed, stratify):
    """``(train, held_out)`` index arrays: ``fraction`` of the examples held out at
    random (of each class, when ``stratify``), every class kept in training."""
    groups = np.unique(y, return_inverse=True)[1].reshape(-1) if stratify else None
    try:  # the estimators' own split (early_stopping's), drawn from the CLI's seed
        return validation_split(len(y), fraction, np.random.default_rng(seed), groups)
    except ValueError:
        raise UserError(
            f"--validation {fraction:g} of {len(y)} examples holds out none; "
            "give more data or a larger fraction"
        ) from None


def _scored(model, X, y):
    # feature names are matched by the CLI itself (columns are taken by name), so an
    # estimator's note that X has no column names is noise here
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names")
        return model.score(X, y)


def _fit(model, X, y):
    """Fit; ``True`` when Ctrl-C stopped it (the model keeps the completed epochs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingInterruptedWarning)
        try:
            model.fit(X, y)
        except TrainingInterruptedWarning:
            return True
        except TrainingDivergedError as error:
            raise UserError(f"training diverged, nothing saved: {error}") from None
        except (ValueError, TypeError) as error:  # the estimator names what is wrong
            raise UserError(f"training failed: {error}") from None
    return False


def _save(model, path):
    try:
        save(model, path)
    except OSError as error:
        raise UserError(f"could not save the model to {path}: {error.strerror or error}") from None


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------


def run_compare(args):
    if args.reset_choices:
        from kernels import jit_products

        jit_products.reset()
        print(
            "the numba variant's product choices of this machine are forgotten: the next "
            "products are measured again"
        )
    sizes = args.sizes or ((args.examples,) if args.sweep == "examples" else (args.hidden[0],))
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    results, notes = comparison.compare(
        sizes=sizes,
        sweep=args.sweep,
        hidden=args.hidden,
        examples=args.examples,
        epochs=args.epochs,
        dtype=args.dtype,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        variants=args.variants,
        loops_limit=args.loops_limit,
        repeat=args.repeat,
        log=log,
    )
    if args.sweep == "examples":
        what = (
            f"layers 2-{'-'.join(str(h) for h in args.hidden)}-1, "
            f"m = {', '.join(str(size) for size in sizes)}"
        )
    else:
        what = f"m = {args.examples}, hidden width {', '.join(str(size) for size in sizes)}"
    batch = "full batch" if args.batch_size is None else f"mini-batches of {args.batch_size}"
    print(
        f"fastnn compare: planar data, {what}, tanh hidden / sigmoid output, "
        f"{args.epochs} epochs, {batch}, {args.dtype}, learning rate {args.learning_rate:g}"
    )
    print(
        "Same initial parameters for every variant; time per epoch of the whole run, "
        "JIT compilation excluded (one warm-up call first), best of at least "
        f"{args.repeat} run{'s' if args.repeat > 1 else ''} (loops: one)."
    )
    print(
        "GFLOP/s counts the matrix products only. The final costs agree to rounding "
        "(float64: about 1e-10 relative; float32: about 1e-6).\n"
    )
    if not any(result.seconds_per_epoch for result in results):
        for note in notes:
            print(f"note: {note}")
        raise UserError("no kernel variant could be run")
    print(comparison.format_table(results, args.sweep, show_size=args.sizes is not None))
    for note in notes:
        print(f"note: {note}")
    if args.plot:
        try:
            comparison.plot(results, args.plot, args.sweep)
        except ImportError as error:  # matplotlib is an optional extra
            raise UserError(str(error)) from None
        print(f"plot written to {args.plot}")
    if args.explain:
        from kernels import jit_products

        print("\nThe numba variant's matrix products on this machine (kernels.jit_products):")
        print(jit_products.explain())
    failed = [result for result in results if " failed " in result.note]
    return EXIT_ERROR if failed else 0


def run_train(args):
    csv_io.check_writable_path(args.out, "model file")  # before the work, not after it
    options = estimator_options(args)
    if options.get("backend") == "cuda":
        _require_gpu("--backend cuda")
    kind = "labels" if args.task == "classify" else "values"
    with csv_io.Table(args.data) as table:
        target = table.column(args.target)
        dropped = set(_columns(table, [name for group in args.drop for name in group]))
        if target in dropped:
            raise UserError(f"--drop names the target column {args.target!r}")
        features = [j for j in range(len(table.header)) if j != target and j not in dropped]
        if not features:
            raise UserError(
                f"{args.data} has no feature columns besides the target {args.target!r}"
            )
        X, y = table.read(features, target, kind)
        names = [table.header[j] for j in features]

    held_out = None
    if args.validation is not None:
        train, held = held_out_split(
            y, args.validation, options.get("seed") or 0, stratify=args.task == "classify"
        )
        X, y, held_out = X[train], y[train], (X[held], y[held])

    model = ESTIMATORS[args.task](**options, verbose=args.verbose)
    interrupted = _fit(model, X, y)
    # scikit-learn's attribute for column names: saved with the model, used by predict
    model.feature_names_in_ = np.array(names, dtype=object)
    if interrupted:
        done, total = getattr(model, "n_epochs_", 0), model.epochs
        if args.save_partial and done:
            _save(model, args.out)
            outcome = f"the partly trained model is saved to {args.out}"
        else:
            outcome = "nothing saved (--save-partial keeps a partly trained model)"
        print(
            f"fastnn train: interrupted after {done} of {total} epochs; {outcome}", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    _save(model, args.out)

    measure = MEASURES[args.task]
    scores = f"training {measure} {_scored(model, X, y):.4f}"
    if held_out is not None:
        scores += (
            f", validation {measure} {_scored(model, *held_out):.4f} on "
            f"{len(held_out[1])} held-out examples"
        )
    if getattr(model, "best_epoch_", None) is not None:
        scores += (
            f"; early stopping kept epoch {model.best_epoch_} of {model.n_epochs_} "
            f"(validation cost {model.validation_history_[model.best_epoch_ - 1]:.6g})"
        )
    print(
        f"trained {type(model).__name__} on {X.shape[0]} examples x {X.shape[1]} features; "
        f"final cost {model.history_[-1]:.6g}, {scores}; saved to {args.out}"
    )
    return 0


def _load(path):
    try:
        return load(path)
    except FileNotFoundError:
        raise UserError(f"model file not found: {path}") from None
    except (OSError, ValueError) as error:  # fastnn.load refuses corrupt or foreign files
        raise UserError(f"could not load the model {path}: {error}") from None


def _prediction_backend(model, requested):
    """The backend to predict with: ``--backend``, else the model's; a model trained on
    a GPU predicts on the CPU (numpy) where there is none, with a note."""
    if requested is not None:
        if requested == "cuda":
            _require_gpu("--backend cuda")
        return requested
    backend = model.get_params().get("backend")
    if backend == "cuda" and not comparison.gpu_present():
        print(
            "fastnn predict: note: the model was trained with backend 'cuda' and there is "
            "no GPU here; predicting with 'numpy' on the CPU",
            file=sys.stderr,
        )
        return "numpy"
    return backend


def run_predict(args):
    if args.out is not None:
        csv_io.check_writable_path(args.out, "predictions file")
    model = _load(args.model)
    model.set_params(backend=_prediction_backend(model, args.backend))
    names = getattr(model, "feature_names_in_", None)
    with csv_io.Table(args.data) as table:
        if names is not None:
            features = _columns(table, [str(name) for name in names])
        else:
            dropped = set(_columns(table, [n for group in args.drop for n in group]))
            features = [j for j in range(len(table.header)) if j not in dropped]
        expected = model.n_features_in_
        if len(features) != expected:
            raise UserError(
                f"the model expects {expected} feature columns, {args.data} has "
                f"{len(features)}; drop the others with --drop COLUMNS"
            )
        X, _ = table.read(features)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature names")  # matched by name above
        try:
            predictions = model.predict(X)
        except (ValueError, TypeError) as error:
            raise UserError(f"prediction failed: {error}") from None
    csv_io.write_predictions(predictions, args.out)
    if args.out is not None:
        print(f"{len(X)} predictions written to {args.out}", file=sys.stderr)
    return 0


def run_example_data(args):
    csv_io.check_writable_path(args.path, "data file")
    X, y = datasets.planar(m=args.examples, seed=args.seed)
    columns = [X[:, 0], X[:, 1]]
    header = ["x1", "x2"]
    if not args.no_target:
        columns.append(np.where(y == 1, "blue", "red"))
        header.append("colour")
    csv_io.write_examples(args.path, header, columns)
    print(
        f"{len(X)} examples of the planar flower data written to {args.path} "
        f"(columns {', '.join(header)})",
        file=sys.stderr,
    )
    return 0


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------


def _add_compare(commands, common):
    cmp = commands.add_parser(
        "compare",
        parents=[common],
        help="time the kernel variants side by side on the planar data",
        description="Train the same planar-data network (2-hidden-1, tanh then sigmoid, the same "
        "initial parameters) with each kernel variant (loops, numpy, numba, and cuda "
        "when a GPU is present) and print, per variant: time per epoch, speed-up over "
        "loops and over numpy, GFLOP/s and the final cost. JIT compilation is excluded "
        "from the times (one warm-up call per variant first). Variants that cannot be "
        "imported are skipped with a note; loops is skipped where a short probe says "
        "it would take longer than --loops-limit seconds.",
    )
    cmp.add_argument(
        "--sizes",
        type=_int_list,
        default=None,
        metavar="N,N,...",
        help="sweep these sizes (numbers of examples, or hidden units with "
        "--sweep hidden), one table row per variant and size",
    )
    cmp.add_argument(
        "--sweep",
        choices=("examples", "hidden"),
        default="examples",
        help="what --sizes varies (default: examples)",
    )
    cmp.add_argument(
        "--examples",
        type=_positive_int,
        default=comparison.DEFAULT_EXAMPLES,
        metavar="M",
        help="number of planar examples (default: %(default)s)",
    )
    cmp.add_argument(
        "--hidden",
        type=_int_list,
        default=comparison.DEFAULT_HIDDEN,
        metavar="N,N,...",
        help="hidden layer sizes (default: 4)",
    )
    cmp.add_argument(
        "--epochs",
        type=_positive_int,
        default=comparison.DEFAULT_EPOCHS,
        help="epochs of each timed run (default: %(default)s)",
    )
    cmp.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="floating-point type (default: float64, where the final costs agree to rounding)",
    )
    cmp.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=comparison.DEFAULT_LEARNING_RATE,
        help="gradient-descent learning rate (default: %(default)s)",
    )
    cmp.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="mini-batch size (default: full batch)",
    )
    cmp.add_argument(
        "--variants",
        type=_variant_list,
        default=comparison.VARIANTS,
        metavar="NAME,NAME,...",
        help="variants to run (default: loops,numpy,numba,cuda)",
    )
    cmp.add_argument(
        "--loops-limit",
        type=_positive_float,
        default=5.0,
        metavar="SECONDS",
        help="skip loops where it would take longer than this (default: 5)",
    )
    cmp.add_argument(
        "--repeat",
        type=_positive_int,
        default=3,
        help="time each variant but loops at least this many times, best counts (default: 3)",
    )
    cmp.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw time per epoch against size, log-log, one line per variant (needs matplotlib)",
    )
    cmp.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines on stderr (one per variant and size)",
    )
    cmp.add_argument(
        "--explain",
        action="store_true",
        help="also print which path (OpenBLAS, plain loops, tiled kernels) each "
        "product of the numba variant takes on this machine, and why",
    )
    cmp.add_argument(
        "--reset-choices",
        action="store_true",
        help="forget the numba variant's measured product choices first (they "
        "are measured again, e.g. after a run on a busy machine)",
    )
    cmp.set_defaults(run=run_compare)


def _add_train(commands, common):
    train = commands.add_parser(
        "train",
        parents=[common],
        help="train a network on a CSV file and save it",
        description="Train an MLPClassifier (--task classify) or MLPRegressor (--task regress) "
        "on a CSV file with a header line: the --target column is what to predict, "
        "every other column not dropped with --drop is a numeric feature. The model "
        "is saved with fastnn.save (a .npz file, no pickle). Unset options take the "
        "estimators' defaults. Ctrl-C stops training (exit status 130) and saves "
        "nothing unless --save-partial is given.",
    )
    train.add_argument("--data", required=True, metavar="FILE.csv", help="training data (CSV)")
    train.add_argument(
        "--target", required=True, metavar="COLUMN", help="name of the column to predict"
    )
    train.add_argument("--out", required=True, metavar="MODEL.npz", help="where to save the model")
    train.add_argument(
        "--task",
        choices=tuple(ESTIMATORS),
        default="classify",
        help="classification (labels: numbers or strings) or regression (default: classify)",
    )
    train.add_argument(
        "--drop",
        type=_column_list,
        action="append",
        default=[],
        metavar="COLUMNS",
        help="comma-separated columns that are not features (an id, a date); repeatable",
    )
    for h in HYPERPARAMETERS:
        train.add_argument(
            h.flag,
            type=h.type,
            choices=h.choices,
            metavar=h.metavar,
            default=argparse.SUPPRESS,
            help=f"{h.help} (default: {api_default(h)})",
        )
    train.add_argument(
        "--validation",
        type=_fraction,
        default=None,
        metavar="FRACTION",
        help="hold out this fraction of the rows at random (of each class, to "
        "classify), train on the rest and print the held-out score (rows "
        "the model never sees; with --early-stopping true the estimator "
        "holds out --validation-fraction of the rest to decide when to "
        "stop)",
    )
    train.add_argument(
        "--verbose", action="store_true", help="a progress bar with the current cost on stderr"
    )
    train.add_argument(
        "--save-partial",
        action="store_true",
        help="after Ctrl-C, save the model of the epochs completed",
    )
    train.set_defaults(run=run_train)


def _add_predict(commands, common):
    predict = commands.add_parser(
        "predict",
        parents=[common],
        help="predict with a saved model",
        description="Load a model saved by 'fastnn train' and predict one row per example of a "
        "CSV file with a header line. The model's feature columns are taken by "
        "name when the model knows them, otherwise every column not dropped with "
        "--drop. Writes a CSV with a 'prediction' column.",
    )
    predict.add_argument("--model", required=True, metavar="MODEL.npz", help="a saved model")
    predict.add_argument("--data", required=True, metavar="FILE.csv", help="examples (CSV)")
    predict.add_argument(
        "--out",
        metavar="PREDS.csv",
        help="where to write the predictions (default: standard output)",
    )
    predict.add_argument(
        "--drop",
        type=_column_list,
        action="append",
        default=[],
        metavar="COLUMNS",
        help="comma-separated columns that are not features, for a model "
        "that does not know its column names; repeatable",
    )
    predict.add_argument(
        "--backend",
        choices=tuple(kernels.VARIANTS),
        default=None,
        help="kernel variant to predict with (default: the model's; numpy "
        "for a cuda model where there is no GPU)",
    )
    predict.set_defaults(run=run_predict)


def _add_example_data(commands, common):
    example = commands.add_parser(
        "example-data",
        parents=[common],
        help="write the planar flower data as CSV",
        description="Write the notes' planar 'flower' data (fastnn.datasets.planar) to a CSV "
        "file: columns x1, x2 and colour (red or blue), the data of the README's "
        "examples.",
    )
    example.add_argument("path", metavar="FILE.csv", help="where to write the data")
    example.add_argument(
        "--examples",
        type=_positive_int,
        default=400,
        metavar="M",
        help="number of points (default: %(default)s)",
    )
    example.add_argument(
        "--seed", type=int, default=1, help="seed of the noise (default: %(default)s)"
    )
    example.add_argument(
        "--no-target", action="store_true", help="leave out the colour column (data to predict)"
    )
    example.set_defaults(run=run_example_data)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastnn",
        description="Fully connected networks of the 'Neural Networks and Deep Learning' notes: "
        "explicit loops, vectorized NumPy and Numba JIT side by side.",
        epilog="Run 'fastnn COMMAND --help' for the options of a command.",
    )
    debug_help = "show the traceback of an error instead of a one-line message"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    # --debug after the command too; SUPPRESS keeps a --debug given before it
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_compare, _add_train, _add_predict, _add_example_data):
        add(commands, common)
    return parser


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def _quiet_stdout():
    """After a closed pipe: point stdout at /dev/null, so that the interpreter's last
    flush does not complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass


def main(argv=None):
    """Entry point of the ``fastnn`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    prefix = f"fastnn {args.command}"
    try:
        return args.run(args)
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{prefix}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UserError, csv_io.CSVError) as error:
        if args.debug:
            raise
        print(f"{prefix}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError as error:
        if args.debug:
            raise
        print(f"{prefix}: error: not enough memory ({_one_line(error)})", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # unexpected: still one line, the traceback on request
        if args.debug:
            raise
        print(
            f"{prefix}: error: {type(error).__name__}: {_one_line(error)} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
