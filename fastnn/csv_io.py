"""CSV files of the command line: a header line, then one example per line.

Read with the standard library's ``csv`` module (no pandas) and streamed: each
row is parsed as it is read, numbers go straight into a packed array of
float64 (8 bytes a cell, about the size of the text), and class labels are
kept once each with an integer code per row. Nothing holds the rows as
strings, so reading takes memory near the size of the file, not ten times it.

Files are decoded as ``utf-8-sig``: a byte-order mark (what spreadsheet
programs write) is not part of the first column's name. Every problem with a
file is a ``CSVError`` whose message is one line naming the file, and the
line and column where that helps.
"""

import csv
import math
import os
import sys
from array import array

import numpy as np

ENCODING = "utf-8-sig"
_INT64 = np.iinfo(np.int64)


class CSVError(ValueError):
    """A file that cannot be read as the data asked for; the message is one line."""


def _blank(row):
    return not row or not any(cell.strip() for cell in row)


class Table:
    """An open CSV file: ``header`` (the column names) read, rows not yet.

    Use as a context manager; ``read`` streams the rows once::

        with Table(path) as table:
            target = table.column("label")
            X, y = table.read(features=[...], target=target)
    """

    def __init__(self, path):
        self.path = str(path)
        try:
            self._file = open(self.path, newline="", encoding=ENCODING)
        except FileNotFoundError:
            raise CSVError(f"data file not found: {self.path}") from None
        except IsADirectoryError:
            raise CSVError(f"data file is a directory: {self.path}") from None
        except OSError as error:
            raise CSVError(f"cannot open {self.path}: {error.strerror or error}") from None
        try:
            self._reader = csv.reader(self._file)
            self.header = self._read_header()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._file.close()

    # -- the header ----------------------------------------------------------

    def _rows(self):
        """``(line number, row)`` of each non-blank row left; decoding and csv errors
        become CSVError."""
        reader = self._reader
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                raise CSVError(
                    f"{self.path}, after line {reader.line_num}: not UTF-8 text "
                    f"({error.reason} at byte {error.start} of a block)"
                ) from None
            except csv.Error as error:
                raise CSVError(f"{self.path}, line {reader.line_num}: {error}") from None
            if not _blank(row):
                yield reader.line_num, row

    def _read_header(self):
        first = next(self._rows(), None)
        if first is None:
            raise CSVError(f"{self.path} is empty: expected a header line and at least one row")
        line, names = first
        header = [name.strip() for name in names]
        seen = {}
        for index, name in enumerate(header):
            if name in seen:
                # two columns of one name: a lookup by name would pick one silently
                raise CSVError(
                    f"{self.path}, line {line}: the column name {name!r} appears "
                    f"twice (columns {seen[name] + 1} and {index + 1}); column "
                    "names must be unique"
                )
            seen[name] = index
        return header

    def column(self, name):
        """Index of the column ``name``; a CSVError listing the columns otherwise."""
        try:
            return self.header.index(name)
        except ValueError:
            raise CSVError(
                f"column {name!r} not found in {self.path}; its columns are: "
                + ", ".join(self.header)
            ) from None

    # -- the rows --------------------------------------------------------------

    def read(self, features, target=None, target_kind="labels"):
        """Stream the rows: ``(X, y)``.

        ``X``: float64 array ``(m, len(features))`` of the given columns, every
        cell a finite number. ``y``: None without ``target``; class labels
        (``target_kind="labels"``: int64 where every label is an integer that
        fits, float64 where every one is a finite number, else strings) or float64
        values (``"values"``). An empty target cell is refused.
        """
        if target_kind not in ("labels", "values"):
            raise ValueError(f"target_kind must be 'labels' or 'values', got {target_kind!r}")
        features = list(features)
        width = len(self.header)
        X = array("d")
        values = array("d")
        codes = array("q")
        label_codes = {}
        rows = 0
        for line, row in self._rows():
            if len(row) != width:
                raise CSVError(
                    f"{self.path}, line {line}: {len(row)} cells, but the header has "
                    f"{width} columns"
                )
            try:
                numbers = [float(row[j]) for j in features]
            except ValueError:
                numbers = None
            # fast path: one sum tells whether every number is finite (a sum of finite
            # numbers that overflows only sends the row to the cell-by-cell check)
            if numbers is None or not math.isfinite(sum(numbers)):
                self._check_cells(line, row, features)
            X.extend(numbers)
            if target is not None:
                cell = row[target].strip()
                if not cell:
                    raise CSVError(
                        f"{self.path}, line {line}: the target column "
                        f"{self.header[target]!r} is empty"
                    )
                if target_kind == "values":
                    values.append(self._number(cell, line, target))
                else:
                    code = label_codes.setdefault(cell, len(label_codes))
                    codes.append(code)
            rows += 1
        if rows == 0:
            raise CSVError(f"{self.path} has a header but no rows of data")
        X = np.frombuffer(X, dtype=np.float64).reshape(rows, len(features))
        if target is None:
            return X, None
        if target_kind == "values":
            return X, np.frombuffer(values, dtype=np.float64)
        return X, decode_labels(list(label_codes), np.frombuffer(codes, dtype=np.int64))

    def _number(self, cell, line, column):
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise CSVError(
                f"{self.path}, line {line}, column {self.header[column]!r}: "
                f"{cell!r} is not a finite number"
            )
        return value

    def _check_cells(self, line, row, features):
        """The CSVError of the first cell of ``features`` that is not a finite number."""
        for j in features:
            self._number(row[j].strip(), line, j)


def decode_labels(texts, codes):
    """Class labels from the distinct label texts and each row's code into them:
    int64 where every text is an integer within int64, float64 where every one is a
    finite number (and none an integer beyond int64, which a float would round
    into another label), strings otherwise (24-digit identifiers stay exact)."""
    integers = []
    for text in texts:
        try:
            integers.append(int(text))
        except ValueError:
            break
    else:
        if all(_INT64.min <= value <= _INT64.max for value in integers):
            return np.array(integers, dtype=np.int64)[codes]
        return np.array(texts, dtype=object)[codes]
    try:
        numbers = [float(text) for text in texts]
    except ValueError:
        numbers = None
    if (
        numbers is not None
        and all(math.isfinite(value) for value in numbers)
        and not any(_is_huge_integer(text) for text in texts)
    ):
        return np.array(numbers, dtype=np.float64)[codes]
    return np.array(texts, dtype=object)[codes]


def _is_huge_integer(text):
    try:
        value = int(text)
    except ValueError:
        return False
    return not _INT64.min <= value <= _INT64.max


def read_csv(path, features=None, target=None, target_kind="labels"):
    """Convenience: ``(header, X, y)`` of a whole file, by column names (features:
    every column but the target by default)."""
    with Table(path) as table:
        target_index = None if target is None else table.column(target)
        if features is None:
            feature_indices = [j for j in range(len(table.header)) if j != target_index]
        else:
            feature_indices = [table.column(name) for name in features]
        X, y = table.read(feature_indices, target_index, target_kind)
        return table.header, X, y


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def check_writable_path(path, what="output file"):
    """A CSVError now, before any work, where ``path`` cannot be written as a file:
    it names a directory, or its directory does not exist."""
    path = str(path)
    if os.path.isdir(path):
        raise CSVError(f"the {what} {path} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CSVError(f"cannot write the {what} {path}: the directory {folder} does not exist")


def _cell(value):
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def write_predictions(predictions, out=None):
    """One prediction per line under a ``prediction`` header (``prediction_0``, ...
    for several targets), to the file ``out`` or to standard output."""
    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        predictions = predictions.reshape(-1, 1)
    names = (
        ["prediction"]
        if predictions.shape[1] == 1
        else [f"prediction_{k}" for k in range(predictions.shape[1])]
    )
    if out is None:
        _write_rows(sys.stdout, names, predictions)
        sys.stdout.flush()
        return
    try:
        with open(out, "w", newline="", encoding="utf-8") as file:
            _write_rows(file, names, predictions)
    except OSError as error:
        raise CSVError(f"cannot write {out}: {error.strerror or error}") from None


def _write_rows(file, names, predictions):
    writer = csv.writer(file, lineterminator="\n")  # what other tools print: no \r
    writer.writerow(names)
    for row in predictions:
        writer.writerow([_cell(value) for value in row])


def write_examples(path, header, columns):
    """Write columns (sequences of equal length) under ``header`` to ``path``."""
    try:
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(header)
            for row in zip(*columns):
                writer.writerow([_cell(value) for value in row])
    except OSError as error:
        raise CSVError(f"cannot write {path}: {error.strerror or error}") from None
