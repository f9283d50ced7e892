"""``fastnn.csv_io``: what the command line reads and writes, and in how much memory."""

import csv
import tracemalloc

import numpy as np
import pytest

from fastnn import csv_io
from fastnn.csv_io import CSVError, Table


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return str(path)


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = write(tmp_path / "bom.csv", "label,a\nx,1\ny,2\n", encoding="utf-8-sig")
    header, X, y = csv_io.read_csv(path, target="label")
    assert header == ["label", "a"]
    assert X.tolist() == [[1.0], [2.0]] and y.tolist() == ["x", "y"]


def test_an_empty_target_cell_is_refused_with_its_line(tmp_path):
    path = write(tmp_path / "d.csv", "a,y\n1,0\n2,\n3,1\n")
    for kind in ("labels", "values"):
        with pytest.raises(CSVError, match=r"d.csv, line 3: the target column 'y' is empty"):
            csv_io.read_csv(path, target="y", target_kind=kind)


def test_duplicate_column_names_are_refused(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(CSVError, match=r"'a' appears twice \(columns 1 and 3\)"):
        Table(path)


def test_line_numbers_count_blank_and_quoted_lines(tmp_path):
    # a blank line and a quoted cell over two lines come before the bad cell
    path = write(tmp_path / "d.csv", 'a,note\n1,"two\nlines"\n\n2,x\noops,y\n')
    with pytest.raises(CSVError, match=r"line 6, column 'a': 'oops' is not a finite number"):
        csv_io.read_csv(path, features=["a"])


@pytest.mark.parametrize("cell", ["", "nan", "inf", "-inf", "1e999", "0x10"])
def test_a_feature_that_is_not_a_finite_number_is_named(tmp_path, cell):
    path = write(tmp_path / "d.csv", f"a,b\n1,2\n3,{cell}\n")
    with pytest.raises(CSVError, match=rf"line 3, column 'b': '{cell}' is not a finite number"):
        csv_io.read_csv(path)


def test_finite_numbers_whose_sum_overflows_are_accepted(tmp_path):
    path = write(tmp_path / "d.csv", "a,b\n1e308,1e308\n")
    _, X, _ = csv_io.read_csv(path)
    assert X.tolist() == [[1e308, 1e308]]


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["1", "0", "1"], np.array([1, 0, 1], dtype=np.int64)),
        (["1.5", "2", "1.5"], np.array([1.5, 2.0, 1.5])),
        (["red", "blue", "red"], np.array(["red", "blue", "red"], dtype=object)),
        # 24-digit identifiers: beyond int64, and a float would merge neighbours
        (
            ["123456789012345678901234", "123456789012345678901235", "123456789012345678901234"],
            np.array(
                [
                    "123456789012345678901234",
                    "123456789012345678901235",
                    "123456789012345678901234",
                ],
                dtype=object,
            ),
        ),
        (["1e400", "2", "1e400"], np.array(["1e400", "2", "1e400"], dtype=object)),
    ],
)
def test_labels_are_numbers_only_where_every_one_is_exactly_a_number(tmp_path, texts, expected):
    path = write(tmp_path / "d.csv", "a,y\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)))
    _, _, y = csv_io.read_csv(path, target="y")
    assert y.dtype == expected.dtype and y.tolist() == expected.tolist()


def test_ragged_rows_and_a_header_alone(tmp_path):
    with pytest.raises(CSVError, match="line 3: 3 cells, but the header has 2 columns"):
        csv_io.read_csv(write(tmp_path / "r.csv", "a,y\n1,0\n2,1,5\n"))
    with pytest.raises(CSVError, match="has a header but no rows"):
        csv_io.read_csv(write(tmp_path / "h.csv", "a,y\n\n"))
    with pytest.raises(CSVError, match="is empty"):
        csv_io.read_csv(write(tmp_path / "e.csv", "\n  \n"))


def test_text_that_is_not_utf8_is_one_error(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,y\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(CSVError, match="not UTF-8 text"):
        csv_io.read_csv(str(path), target="y")


def test_check_writable_path(tmp_path):
    with pytest.raises(CSVError, match="is a directory"):
        csv_io.check_writable_path(str(tmp_path))
    with pytest.raises(CSVError, match="does not exist"):
        csv_io.check_writable_path(str(tmp_path / "missing" / "m.npz"))
    csv_io.check_writable_path(str(tmp_path / "fine.npz"))  # no error


def test_reading_takes_memory_near_the_size_of_the_file(tmp_path):
    # 40 000 rows of 8 numbers and a label, about 3.6 MB of text. Rows held as lists of
    # strings (the CLI before csv_io) took about 11 times the file; packed float64
    # takes less than the text. Allow twice the file for the growth of the arrays.
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([f"x{j}" for j in range(8)] + ["label"])
        for row, label in zip(rng.standard_normal((40_000, 8)), rng.integers(0, 3, 40_000)):
            writer.writerow([f"{value:.6f}" for value in row] + [f"class{label}"])
    size = path.stat().st_size
    tracemalloc.start()
    try:
        _, X, y = csv_io.read_csv(str(path), target="label")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert X.shape == (40_000, 8) and set(y.tolist()) == {"class0", "class1", "class2"}
    assert peak < 2 * size, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
