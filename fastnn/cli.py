"""The ``fastnn`` command line: ``compare``, ``train`` and ``predict``.

``fastnn compare`` times the kernel variants side by side (see ``fastnn.compare``);
``fastnn train`` fits an estimator on a CSV file and saves it; ``fastnn predict``
loads it and writes predictions. Errors in the user's input (a missing file or
column, a cell that is not a number) are reported in one line on stderr with
exit status 1; a usage error exits with status 2, as argparse does.
"""

import argparse
import csv
import math
import sys

import numpy as np

from . import compare as comparison

#: Exit status for an error in the user's input or files.
EXIT_ERROR = 1


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
            f"expected comma-separated integers such as 20,7,5, got {text!r}") from None
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"sizes must be >= 1, got {text!r}")
    return values


def _name_list(text):
    """``"relu"`` -> ``"relu"``; ``"relu,tanh"`` -> ``("relu", "tanh")``."""
    names = tuple(part.strip() for part in text.split(","))
    return names[0] if len(names) == 1 else names


def _variant_list(text):
    """``"numpy,numba"`` -> ``("numpy", "numba")``, each a kernel variant."""
    names = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in names if name not in comparison.VARIANTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown variant {unknown[0]!r}; choose from {','.join(comparison.VARIANTS)}")
    return names


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


# ---------------------------------------------------------------------------
# CSV files (the csv module: no pandas dependency)
# ---------------------------------------------------------------------------


def read_csv(path):
    """``(header, rows)`` of a CSV file with a header line; rows are lists of strings."""
    try:
        with open(path, newline="") as file:
            lines = [line for line in csv.reader(file) if line and any(cell.strip() for cell in line)]
    except FileNotFoundError:
        raise UserError(f"data file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"data file is a directory: {path}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"{path} is not a readable CSV file: {error}") from None
    if not lines:
        raise UserError(f"{path} is empty: expected a header line and at least one row")
    header = [name.strip() for name in lines[0]]
    rows = lines[1:]
    if not rows:
        raise UserError(f"{path} has a header but no rows of data")
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise UserError(f"{path}, line {number}: {len(row)} cells, but the header has "
                            f"{len(header)} columns")
    return header, rows


def column_index(header, column, path):
    """Index of a named column (or a 0-based number), or a UserError listing the columns."""
    if column in header:
        return header.index(column)
    raise UserError(f"column {column!r} not found in {path}; its columns are: "
                    + ", ".join(header))


def numeric_matrix(rows, columns, header, path):
    """The given columns of ``rows`` as a float64 array (m, len(columns)); a UserError
    names the first cell that is not a finite number."""
    X = np.empty((len(rows), len(columns)))
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            cell = row[column].strip()
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise UserError(f"{path}, line {i + 2}, column {header[column]!r}: "
                                f"{cell!r} is not a finite number")
            X[i, j] = value
    return X


def target_labels(rows, column):
    """Class labels of a column: integers or numbers where every cell is one, else strings."""
    cells = [row[column].strip() for row in rows]
    for convert in (int, float):
        try:
            return np.array([convert(cell) for cell in cells])
        except ValueError:
            continue
    return np.array(cells, dtype=object)


def write_predictions(predictions, out):
    """Write one prediction per line under a ``prediction`` header (several columns for
    several targets) to the path ``out``, or to stdout when ``out`` is None."""
    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        predictions = predictions.reshape(-1, 1)
    names = (["prediction"] if predictions.shape[1] == 1
             else [f"prediction_{k}" for k in range(predictions.shape[1])])
    file = sys.stdout if out is None else open(out, "w", newline="")
    try:
        writer = csv.writer(file)
        writer.writerow(names)
        for row in predictions:
            writer.writerow([_cell(value) for value in row])
    finally:
        if out is not None:
            file.close()


def _cell(value):
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value.item() if isinstance(value, np.generic) else value)


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------


def run_compare(args):
    sizes = args.sizes or ((args.examples,) if args.sweep == "examples" else (args.hidden[0],))
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    results, notes = comparison.compare(
        sizes=sizes, sweep=args.sweep, hidden=args.hidden, examples=args.examples,
        epochs=args.epochs, dtype=args.dtype, learning_rate=args.learning_rate,
        batch_size=args.batch_size, variants=args.variants, loops_limit=args.loops_limit,
        repeat=args.repeat)
    if args.sweep == "examples":
        what = (f"layers 2-{'-'.join(str(h) for h in args.hidden)}-1, "
                f"m = {', '.join(str(size) for size in sizes)}")
    else:
        what = f"m = {args.examples}, hidden width {', '.join(str(size) for size in sizes)}"
    batch = "full batch" if args.batch_size is None else f"mini-batches of {args.batch_size}"
    print(f"fastnn compare: planar data, {what}, tanh hidden / sigmoid output, "
          f"{args.epochs} epochs, {batch}, {args.dtype}, learning rate {args.learning_rate:g}")
    print("Same initial parameters for every variant; time per epoch of the whole run, "
          "JIT compilation excluded (one warm-up call first), best of at least "
          f"{args.repeat} run{'s' if args.repeat > 1 else ''} (loops: one).")
    print("GFLOP/s counts the matrix products only. The final costs agree to rounding "
          "(float64: about 1e-10 relative; float32: about 1e-6).\n")
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
    failed = [result for result in results if " failed " in result.note]
    return EXIT_ERROR if failed else 0


def _estimators():
    """The estimator classes and save/load of the fastnn API."""
    import fastnn

    try:
        return (fastnn.MLPClassifier, fastnn.MLPRegressor, fastnn.save, fastnn.load)
    except AttributeError as error:
        raise UserError(f"this fastnn has no estimators yet ({error})") from None


def run_train(args):
    MLPClassifier, MLPRegressor, save, _ = _estimators()
    header, rows = read_csv(args.data)
    target = column_index(header, args.target, args.data)
    features = [j for j in range(len(header)) if j != target]
    if not features:
        raise UserError(f"{args.data} has no feature columns besides the target {args.target!r}")
    X = numeric_matrix(rows, features, header, args.data)
    if args.task == "classify":
        y = target_labels(rows, target)
        estimator = MLPClassifier
    else:
        y = numeric_matrix(rows, [target], header, args.data).ravel()
        estimator = MLPRegressor
    options = dict(hidden=args.hidden, activation=args.activation, epochs=args.epochs,
                   batch_size=args.batch_size, backend=args.backend, dtype=args.dtype,
                   seed=args.seed)
    if args.learning_rate is not None:
        options["learning_rate"] = args.learning_rate
    model = estimator(**options)
    try:
        model.fit(X, y)
    except (ValueError, TypeError) as error:  # the estimator names what is wrong
        raise UserError(f"training failed: {error}") from None
    # scikit-learn's attribute for column names: saved with the model, used by predict
    model.feature_names_in_ = np.array([header[j] for j in features], dtype=object)
    try:
        save(model, args.out)
    except OSError as error:
        raise UserError(f"could not save the model to {args.out}: {error}") from None
    score = model.score(X, y)
    measure = "accuracy" if args.task == "classify" else "R^2"
    print(f"trained {type(model).__name__} on {X.shape[0]} examples x {X.shape[1]} features "
          f"({', '.join(header[j] for j in features)}); final cost {model.history_[-1]:.6g}, "
          f"training {measure} {score:.4f}; saved to {args.out}")
    return 0


def run_predict(args):
    _, _, _, load = _estimators()
    try:
        model = load(args.model)
    except FileNotFoundError:
        raise UserError(f"model file not found: {args.model}") from None
    except (OSError, ValueError) as error:  # fastnn.load refuses corrupt or foreign files
        raise UserError(f"could not load the model {args.model}: {error}") from None
    header, rows = read_csv(args.data)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        features = [column_index(header, str(name), args.data) for name in names]
    else:
        features = [j for j in range(len(header)) if header[j] not in (args.drop or [])]
    expected = model.n_features_in_
    if len(features) != expected:
        raise UserError(f"the model expects {expected} feature columns, {args.data} has "
                        f"{len(features)} ({', '.join(header[j] for j in features)}); "
                        "drop the others with --drop COLUMN")
    X = numeric_matrix(rows, features, header, args.data)
    write_predictions(model.predict(X), args.out)
    if args.out is not None:
        print(f"{len(rows)} predictions written to {args.out}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastnn",
        description="Fully connected networks of the 'Neural Networks and Deep Learning' notes: "
                    "explicit loops, vectorized NumPy and Numba JIT side by side.",
        epilog="Run 'fastnn COMMAND --help' for the options of a command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cmp = commands.add_parser(
        "compare", help="time the kernel variants side by side on the planar data",
        description="Train the same planar-data network (2-hidden-1, tanh then sigmoid, the same "
                    "initial parameters) with each kernel variant (loops, numpy, numba, and cuda "
                    "when a GPU is present) and print, per variant: time per epoch, speed-up over "
                    "loops and over numpy, GFLOP/s and the final cost. JIT compilation is excluded "
                    "from the times (one warm-up call per variant first). Variants that cannot be "
                    "imported are skipped with a note; loops is skipped where a short probe says "
                    "it would take longer than --loops-limit seconds.")
    cmp.add_argument("--sizes", type=_int_list, default=None, metavar="N,N,...",
                     help="sweep these sizes (numbers of examples, or hidden units with "
                          "--sweep hidden), one table row per variant and size")
    cmp.add_argument("--sweep", choices=("examples", "hidden"), default="examples",
                     help="what --sizes varies (default: examples)")
    cmp.add_argument("--examples", type=_positive_int, default=comparison.DEFAULT_EXAMPLES,
                     metavar="M", help="number of planar examples (default: %(default)s)")
    cmp.add_argument("--hidden", type=_int_list, default=comparison.DEFAULT_HIDDEN,
                     metavar="N,N,...", help="hidden layer sizes (default: 4)")
    cmp.add_argument("--epochs", type=_positive_int, default=comparison.DEFAULT_EPOCHS,
                     help="epochs of each timed run (default: %(default)s)")
    cmp.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                     help="floating-point type (default: float64, where the final costs agree "
                          "to rounding)")
    cmp.add_argument("--learning-rate", type=_positive_float,
                     default=comparison.DEFAULT_LEARNING_RATE,
                     help="gradient-descent learning rate (default: %(default)s)")
    cmp.add_argument("--batch-size", type=_positive_int, default=None,
                     help="mini-batch size (default: full batch)")
    cmp.add_argument("--variants", type=_variant_list,
                     default=comparison.VARIANTS, metavar="NAME,NAME,...",
                     help="variants to run (default: loops,numpy,numba,cuda)")
    cmp.add_argument("--loops-limit", type=_positive_float, default=5.0, metavar="SECONDS",
                     help="skip loops where it would take longer than this (default: 5)")
    cmp.add_argument("--repeat", type=_positive_int, default=3,
                     help="time each variant but loops at least this many times, best counts "
                          "(default: 3)")
    cmp.add_argument("--plot", metavar="FILE.png",
                     help="draw time per epoch against size, log-log, one line per variant "
                          "(needs matplotlib)")
    cmp.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    cmp.set_defaults(run=run_compare)

    train = commands.add_parser(
        "train", help="train a network on a CSV file and save it",
        description="Train an MLPClassifier (--task classify) or MLPRegressor (--task regress) "
                    "on a CSV file with a header line: the --target column is what to predict, "
                    "every other column is a numeric feature. The model is saved with "
                    "fastnn.save (a .npz file, no pickle).")
    train.add_argument("--data", required=True, metavar="FILE.csv", help="training data (CSV)")
    train.add_argument("--target", required=True, metavar="COLUMN",
                       help="name of the column to predict")
    train.add_argument("--out", required=True, metavar="MODEL.npz", help="where to save the model")
    train.add_argument("--task", choices=("classify", "regress"), default="classify",
                       help="classification (labels: numbers or strings) or regression "
                            "(default: classify)")
    train.add_argument("--hidden", type=_int_list, default=(20, 7, 5), metavar="N,N,...",
                       help="hidden layer sizes, '' for none (default: 20,7,5)")
    train.add_argument("--activation", type=_name_list, default="relu", metavar="NAME[,NAME...]",
                       help="hidden activation: relu, leaky_relu, tanh, sigmoid or linear, one "
                            "name or one per hidden layer (default: relu)")
    train.add_argument("--epochs", type=_positive_int, default=1000,
                       help="epochs of gradient descent (default: %(default)s)")
    train.add_argument("--learning-rate", type=_positive_float, default=None,
                       help="learning rate (default: the estimator's)")
    train.add_argument("--batch-size", type=_positive_int, default=None,
                       help="mini-batch size (default: full batch)")
    train.add_argument("--backend", choices=comparison.VARIANTS, default="numba",
                       help="kernel variant (default: numba)")
    train.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                       help="floating-point type (default: float64)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the initial parameters and batch order (default: 0)")
    train.set_defaults(run=run_train)

    predict = commands.add_parser(
        "predict", help="predict with a saved model",
        description="Load a model saved by 'fastnn train' and predict one row per example of a "
                    "CSV file with a header line. The model's feature columns are taken by "
                    "name when the model knows them, otherwise every column not dropped with "
                    "--drop. Writes a CSV with a 'prediction' column.")
    predict.add_argument("--model", required=True, metavar="MODEL.npz", help="a saved model")
    predict.add_argument("--data", required=True, metavar="FILE.csv", help="examples (CSV)")
    predict.add_argument("--out", metavar="PREDS.csv",
                         help="where to write the predictions (default: standard output)")
    predict.add_argument("--drop", action="append", metavar="COLUMN",
                         help="a column that is not a feature (repeatable)")
    predict.set_defaults(run=run_predict)
    return parser


def main(argv=None):
    """Entry point of the ``fastnn`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserError as error:
        print(f"fastnn {args.command}: error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
