"""Numeric series: reading the common layouts, checking them, and cutting them into splits.

Every layout becomes a list of `Series`, one univariate target each; a multivariate file (the ETT
layout) becomes one series per column, which a global model learns together (channel independence).

Layouts (`data.format`):
- `long`: one row per observation, `unique_id, ds, y` plus covariate columns (the Nixtla convention);
  the columns named in `data.future_covariates` are known ahead (prices, promotions, holidays), the
  others only up to the forecast origin;
- `wide`: a time column (optional) and one numeric column per series (ETT);
- `m4`: one row per series, an id then the values, ragged ends left empty (the M4 files).
A `label` (or `anomaly`, `is_anomaly`) column marks anomalous points; it is never an input.

Missing values follow `data.missing`: `error` (the default) refuses them; `interpolate` fills
interior gaps linearly and warns. Infinite values are always refused.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from seqlab.data.inputs import InputKind
from seqlab.errors import UserError
from seqlab.files import read_text

ID_COLUMNS = ("unique_id", "id", "series", "series_id")
TIME_COLUMNS = ("ds", "date", "timestamp", "time", "datetime")
TARGET_COLUMNS = ("y", "value", "target")
LABEL_COLUMNS = ("label", "anomaly", "is_anomaly")  # 0/1 per point: anomaly labels, never a feature


@dataclass
class Series:
    id: str
    values: np.ndarray  # (T,) float64 target
    timestamps: np.ndarray | None = None  # (T,) datetime64[ns], or None where the file has no times
    covariates: np.ndarray | None = None  # (T, K) float64, known up to each point only
    start: int = 0  # forecasts are judged only for targets at or after this index
    labels: np.ndarray | None = None  # (T,) 1 at labelled anomalies
    future_covariates: np.ndarray | None = None  # (T + ahead, J) float64, known ahead: rows past T
    # belong to the points after the series' end (see `with_future`)

    def __len__(self) -> int:
        return len(self.values)

    def head(self, end: int, start: int = 0) -> Series:
        """The first `end` points, judged from `start`."""
        return replace(
            self,
            values=self.values[:end],
            start=start,
            timestamps=None if self.timestamps is None else self.timestamps[:end],
            covariates=None if self.covariates is None else self.covariates[:end],
            labels=None if self.labels is None else self.labels[:end],
            future_covariates=None if self.future_covariates is None else self.future_covariates[:end],
        )


def read_series(path: Path, data) -> list[Series]:
    """The series of one file, in the layout `data.format` names (auto: guessed from the header)."""
    return series_from_frame(read_frame(path), data, path)


def read_frame(path: Path):
    """A CSV or TSV file as a pandas DataFrame, or a UserError saying why it cannot be read."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    try:
        frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise UserError(f"{path}: not a readable CSV/TSV file ({str(error).splitlines()[0]})") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty") from None
    if frame.empty:
        raise UserError(f"{path} has a header but no rows")
    return frame


def series_from_frame(frame, data, path: Path | str = "the data") -> list[Series]:
    """The series of a pandas DataFrame in one of the three layouts, checked."""
    layout = data.format if data.format in ("long", "wide", "m4") else _guess_layout(frame)
    labels = next((c for c in frame.columns if str(c).lower() in LABEL_COLUMNS), None)
    if layout == "long":
        series = _from_long(frame, data, path, labels)
    elif layout == "wide":
        series = _from_wide(frame, data, path, labels)
    else:
        series = _from_m4(frame, path)
    if data.first_points:
        series = [s.head(data.first_points) for s in series]
    return [_checked(s, data.missing, path) for s in series]


def _guess_layout(frame) -> str:
    columns = [str(c).lower() for c in frame.columns]
    if any(c in ID_COLUMNS for c in columns):
        return "long"
    if any(c in TIME_COLUMNS for c in columns) or frame.dtypes.iloc[0].kind in "fiu":
        return "wide"
    return "m4"


def _pick(frame, wanted: str | None, names: tuple[str, ...], what: str, path: Path) -> str:
    columns = {str(c).lower(): c for c in frame.columns}
    if wanted is not None:
        if wanted not in frame.columns:
            raise UserError(
                f"{path} has no column '{wanted}' ({what}); its columns: {', '.join(map(str, frame.columns))}"
            )
        return wanted
    for name in names:
        if name in columns:
            return columns[name]
    raise UserError(
        f"{path} has no {what} column (looked for {', '.join(names)}); name it with data.{what}_column"
    )


def _timestamps(column, path: Path) -> np.ndarray:
    import pandas as pd

    try:
        return pd.to_datetime(column).to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError):
        raise UserError(f"{path}: column '{column.name}' does not hold dates or times") from None


def _numeric(frame, columns: list, path: Path) -> np.ndarray:
    import pandas as pd

    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & frame[columns].notna()
    if bad.any().any():
        column = bad.any()[bad.any()].index[0]
        row = int(bad[column].to_numpy().argmax())
        raise UserError(
            f"{path}: column '{column}' row {row + 2} is not a number: {frame[column].iloc[row]!r}"
        )
    return values.to_numpy(dtype=np.float64)


def _from_long(frame, data, path: Path, labels: str | None) -> list[Series]:
    ids = _pick(frame, data.id_column, ID_COLUMNS, "id", path)
    times = _pick(frame, data.time_column, TIME_COLUMNS, "time", path)
    target = _pick(frame, data.target_column, TARGET_COLUMNS, "target", path)
    ahead = _future_columns(frame, data, path)
    covariates = [c for c in frame.columns if c not in (ids, times, target, labels, *ahead)]
    series = []
    for key, group in frame.groupby(ids, sort=False):
        series.append(
            Series(
                str(key),
                _numeric(group, [target], path)[:, 0],
                _timestamps(group[times], path),
                _numeric(group, covariates, path) if covariates else None,
                labels=_labels(group, labels, path),
                future_covariates=_numeric(group, ahead, path) if ahead else None,
            )
        )
    return series


def _future_columns(frame, data, path: Path) -> list[str]:
    missing = [c for c in data.future_covariates if c not in frame.columns]
    if missing:
        raise UserError(
            f"{path} has no column '{missing[0]}' (data.future_covariates); "
            f"its columns: {', '.join(map(str, frame.columns))}"
        )
    return list(data.future_covariates)


def _from_wide(frame, data, path: Path, labels: str | None) -> list[Series]:
    has_times = data.time_column is not None or any(str(c).lower() in TIME_COLUMNS for c in frame.columns)
    times = _pick(frame, data.time_column, TIME_COLUMNS, "time", path) if has_times else None
    stamps = _timestamps(frame[times], path) if has_times else None
    columns = [c for c in frame.columns if c not in (times, labels)]
    if not columns:
        raise UserError(f"{path} has no value columns")
    values = _numeric(frame, columns, path)
    marks = _labels(frame, labels, path)
    return [Series(str(c), values[:, j], stamps, labels=marks) for j, c in enumerate(columns)]


def _labels(frame, column: str | None, path: Path) -> np.ndarray | None:
    if column is None:
        return None
    marks = _numeric(frame, [column], path)[:, 0]
    if not np.isin(marks, (0, 1)).all():
        raise UserError(f"{path}: column '{column}' must hold 0 or 1 (1: an anomalous point)")
    return marks.astype(bool)


def _from_m4(frame, path: Path) -> list[Series]:
    values = _numeric(frame, list(frame.columns[1:]), path)
    series = []
    for key, row in zip(frame.iloc[:, 0].astype(str), values):
        filled = np.flatnonzero(~np.isnan(row))
        series.append(Series(key, row[: filled[-1] + 1] if len(filled) else row[:0]))
    return series


def _checked(series: Series, missing: str, path: Path) -> Series:
    """Refuse what would turn into a silent NaN later, or repair it as `missing` says."""
    where = f"{path}: series '{series.id}'"
    if len(series) == 0:
        raise UserError(f"{where} has no values")
    if np.isinf(series.values).any():
        raise UserError(
            f"{where} holds an infinite value at position {int(np.isinf(series.values).argmax())}"
        )
    if series.timestamps is not None:
        steps = np.diff(series.timestamps).astype(np.int64)
        if (steps < 0).any():
            raise UserError(
                f"{where}: timestamps are not sorted (at "
                f"{series.timestamps[int((steps < 0).argmax()) + 1]}); sort the file by time"
            )
        if (steps == 0).any():
            raise UserError(
                f"{where}: timestamp {series.timestamps[int((steps == 0).argmax())]} appears twice"
            )
        if len(steps) and _frequency(series.timestamps) is None:
            raise UserError(
                f"{where}: the timestamps are irregular (steps of "
                f"{np.timedelta64(int(steps.min()), 'ns')} to {np.timedelta64(int(steps.max()), 'ns')}); "
                "resample the series to one frequency first"
            )
    gaps = np.isnan(series.values)
    if gaps.any():
        if missing != "interpolate":
            raise UserError(
                f"{where} has {int(gaps.sum())} missing value(s), the first at position "
                f"{int(gaps.argmax())}; fill them, or set data.missing=interpolate"
            )
        known = np.flatnonzero(~gaps)
        if len(known) < 2:
            raise UserError(f"{where} has fewer than 2 known values to interpolate between")
        values = series.values.copy()
        values[gaps] = np.interp(np.flatnonzero(gaps), known, values[known])
        warnings.warn(
            f"series '{series.id}': {int(gaps.sum())} missing value(s) filled by linear interpolation"
        )
        series = replace(series, values=values)
    for known in (series.covariates, series.future_covariates):
        if known is not None and not np.isfinite(known).all():
            raise UserError(f"{where}: a covariate is missing or infinite; covariates must be complete")
    return series


def _frequency(stamps: np.ndarray) -> str | None:
    import pandas as pd

    if len(stamps) < 3:
        return "unknown"
    try:
        return pd.infer_freq(pd.DatetimeIndex(stamps))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Splits in time


DEFAULT_LOOKBACK = 96


def held_out_points(n: int, fraction: float, horizon: int) -> int:
    """The last points of an `n`-point series that a split in time holds out: at least one horizon."""
    return max(horizon, round(n * fraction)) if fraction > 0 else 0


def fitting_lookback(
    series: list[Series], val_fraction: float, test_fraction: float, horizon: int, least: int
) -> int:
    """data.lookback=None: 96 points, or fewer where the shortest series' training part needs it (room
    for one window of lookback + horizon), but never fewer than `least` (the model's first patch)."""
    room = min(
        len(s)
        - held_out_points(len(s), val_fraction, horizon)
        - held_out_points(len(s), test_fraction, horizon)
        for s in series
    )
    lookback = min(DEFAULT_LOOKBACK, room - horizon)
    if lookback < least:
        shortest = min(series, key=len)
        raise UserError(
            f"series '{shortest.id}' has {len(shortest)} points: after its validation and test parts it "
            f"leaves room for a lookback of {max(lookback, 0)} points before a horizon of {horizon}, fewer "
            f"than {least}; lower data.horizon, data.val_fraction or data.test_fraction, or give longer "
            "series"
        )
    return lookback


def split_in_time(
    series: list[Series], val_fraction: float, test_fraction: float, horizon: int, lookback: int = 0
) -> dict[str, list[Series]]:
    """Train, val and test by time within every series: the last `test_fraction` of the points is
    judged as test, the `val_fraction` before it as val (each at least one horizon long).

    A later split keeps the earlier points as the history its first forecasts look back on.
    """
    splits: dict[str, list[Series]] = {"train": [], "val": [], "test": []}
    for s in series:
        n = len(s)
        test = held_out_points(n, test_fraction, horizon)
        val = held_out_points(n, val_fraction, horizon)
        train_end, val_end = n - test - val, n - test
        if train_end < lookback + horizon or train_end <= 0:
            raise UserError(
                f"series '{s.id}' has {n} points, too few for validation and test parts ({val} + {test}) "
                f"and one training window ({lookback} + {horizon}); lower data.lookback, "
                "data.val_fraction or data.test_fraction"
            )
        splits["train"].append(s.head(train_end))
        if val:
            splits["val"].append(s.head(val_end, start=train_end))
        if test:
            splits["test"].append(s.head(n, start=val_end))
    return {name: part for name, part in splits.items() if part}


def continue_series(history: list[Series], future: list[Series]) -> list[Series]:
    """Each `future` series appended to its `history` (the M4 test file), judged from the join."""
    known = {s.id: s for s in history}
    joined = []
    for s in future:
        if s.id not in known:
            raise UserError(f"series '{s.id}' of the test data has no history in the training data")
        past = known[s.id]
        joined.append(
            Series(
                s.id,
                np.concatenate([past.values, s.values]),
                start=len(past),
                **{
                    name: _joined(getattr(past, name), getattr(s, name), len(past), s.id, name)
                    for name in ("timestamps", "covariates", "labels", "future_covariates")
                },
            )
        )
    return joined


def _joined(
    past: np.ndarray | None, later: np.ndarray | None, length: int, series_id: str, what: str
) -> np.ndarray | None:
    """A per-point array of a series' first `length` points followed by that of its continuation."""
    if past is None and later is None:
        return None
    if past is None or later is None:
        raise UserError(f"series '{series_id}' has {what.replace('_', ' ')} in only one of its two parts")
    return np.concatenate([past[:length], later])


def with_future(
    history: list[Series], future, horizon: int, data, path: Path | str = "the future data"
) -> list[Series]:
    """Each series of `history` with the known-ahead covariates of its next `horizon` points, from a
    long frame (`unique_id, ds` and the `data.future_covariates` columns) that continues it in time."""
    ids = _pick(future, data.id_column, ID_COLUMNS, "id", path)
    times = _pick(future, data.time_column, TIME_COLUMNS, "time", path)
    ahead = _future_columns(future, data, path)
    groups = dict(iter(future.groupby(ids, sort=False)))
    extended = []
    for s in history:
        group = groups.get(s.id, future.iloc[:0])
        if len(group) < horizon:
            raise UserError(
                f"{path}: series '{s.id}' has {len(group)} future rows; forecasting {horizon} "
                f"points needs the covariates {', '.join(ahead)} for each of them"
            )
        group = group.iloc[:horizon]
        expected = future_timestamps(s.timestamps, 1)[0] if s.timestamps is not None else None
        first = _timestamps(group[times], path)[0]
        if expected is not None and first != expected:
            raise UserError(
                f"{path}: series '{s.id}' continues at {first}, but its history ends just before "
                f"{expected}; the future rows must follow the history"
            )
        values = _numeric(group, ahead, path)
        if not np.isfinite(values).all():
            raise UserError(f"{path}: series '{s.id}': a future covariate is missing or infinite")
        known = s.future_covariates[: len(s)] if s.future_covariates is not None else None
        if known is None:
            raise UserError(f"series '{s.id}' has no covariates {', '.join(ahead)} in its history")
        extended.append(replace(s, future_covariates=np.concatenate([known, values])))
    return extended


# ---------------------------------------------------------------------------------------------
# Calendar features


def calendar_features(stamps: np.ndarray) -> np.ndarray:
    """(T,) datetimes → (T, 4) hour of day, day of week, day of year, month, each in [-0.5, 0.5]."""
    import pandas as pd

    index = pd.DatetimeIndex(stamps)
    return (
        np.stack(
            [
                index.hour / 23.0,
                index.dayofweek / 6.0,
                (index.dayofyear - 1) / 365.0,
                (index.month - 1) / 11.0,
            ],
            axis=1,
        )
        - 0.5
    )


def future_timestamps(stamps: np.ndarray, count: int) -> np.ndarray:
    """The `count` timestamps after `stamps`, at its frequency."""
    import pandas as pd

    step = stamps[-1] - stamps[-2] if len(stamps) > 1 else np.timedelta64(1, "h")
    freq = _frequency(stamps)
    if freq and freq != "unknown":
        return pd.date_range(stamps[-1], periods=count + 1, freq=freq)[1:].to_numpy(dtype="datetime64[ns]")
    return stamps[-1] + step * np.arange(1, count + 1)


# ---------------------------------------------------------------------------------------------
# A forecaster's scale and features


def patch_count(lookback: int, patch_len: int, stride: int) -> int:
    """How many steps a forecaster's patch adapter makes of `lookback` points."""
    pad = stride if patch_len > 1 else 0
    return (lookback + pad - min(patch_len, lookback)) // stride + 1


def median_index(quantiles: list[float]) -> int:
    """Which of the Q outputs is the point forecast: the quantile nearest 0.5 (the only one without)."""
    return min(range(len(quantiles)), key=lambda j: abs(quantiles[j] - 0.5)) if quantiles else 0


@dataclass(frozen=True)
class SeriesScaling:
    """How a forecaster puts each series on the scale its model works in and back, and which features
    each point carries: data.transform, data.scaling and data.season, with what `fit` learned
    (scaling.json: per series id its mean and spread; the feature widths)."""

    transform: str  # none | log
    scaling: str  # none | standard | seasonal
    season: int
    learned: dict  # {"series": {id: [mean, spread]}, "features": {"calendar", "covariates", …}}

    def transformed(self, s: Series) -> np.ndarray:
        """(T,) the values the model is fitted to before scaling: log(1 + y) with data.transform=log."""
        if self.transform == "none":
            return s.values
        if (s.values < 0).any():
            raise UserError(
                f"data.transform=log needs values of 0 or more; series '{s.id}' has "
                f"{s.values.min():g} (use data.transform=none)"
            )
        return np.log1p(s.values)

    def stats_of(self, series_id: str, model_values: np.ndarray) -> tuple[float, float]:
        """A series' mean and spread: learned in training, or from its own history for a new id."""
        known = self.learned.get("series", {}).get(series_id)
        if known is not None:
            return known[0], known[1]
        if self.scaling == "none":
            return 0.0, 1.0
        return self.mean_and_spread(model_values)

    def mean_and_spread(self, values: np.ndarray) -> tuple[float, float]:
        """A series' scaling: its mean, and its standard deviation or (data.scaling=seasonal) its mean
        absolute seasonal difference, MASE's scale, under which an MAE loss is MASE (1 where it is 0)."""
        if self.scaling == "seasonal" and len(values) > self.season:
            spread = float(np.abs(values[self.season :] - values[: -self.season]).mean())
        else:
            spread = float(values.std())
        return float(values.mean()), spread if spread > 0 else 1.0

    def to_scaled(self, values: np.ndarray, mean, spread) -> np.ndarray:
        """Values on the series' own scale → the scale the model works in (negatives count as 0 under log)."""
        return ((np.log1p(np.maximum(values, 0)) if self.transform == "log" else values) - mean) / spread

    def from_scaled(self, scaled: np.ndarray, mean, spread) -> np.ndarray:
        """The model's scale → the series' own."""
        values = scaled * spread + mean
        return np.expm1(values) if self.transform == "log" else values

    def known_ahead(self, s: Series, extra: int) -> np.ndarray | None:
        """(T + extra, K): the calendar and the future covariates of every point, `extra` past the end."""
        f = self.learned["features"]
        columns = []
        if f["calendar"]:
            stamps = (
                s.timestamps
                if not extra
                else np.concatenate([s.timestamps, future_timestamps(s.timestamps, extra)])
            )
            columns.append(calendar_features(stamps))
        if f["future_covariates"]:
            known = s.future_covariates
            if known is None or known.shape[1] != f["future_covariates"]:
                raise UserError(
                    f"series '{s.id}' needs the {f['future_covariates']} future covariate column(s) "
                    "of training (data.future_covariates)"
                )
            if len(known) < len(s) + extra:
                raise UserError(
                    f"series '{s.id}' has future covariates for {len(known) - len(s)} points after its "
                    f"end; forecasting {extra} points needs them for each (seqlab forecast --future FILE)"
                )
            columns.append(known[: len(s) + extra])
        return np.concatenate(columns, axis=1) if columns else None

    def features(self, s: Series, y: np.ndarray, known: np.ndarray | None, extra: int) -> np.ndarray:
        """(T + extra, F): the scaled target `y`, the known-ahead features, the covariates (the last one
        repeated past the end, where no pass reads it)."""
        columns = [np.nan_to_num(y)[:, None]]
        if known is not None:
            columns.append(known)
        width = self.learned["features"]["covariates"]
        if width:
            if s.covariates is None or s.covariates.shape[1] != width:
                raise UserError(f"series '{s.id}' needs {width} covariate columns, as in training")
            columns.append(np.concatenate([s.covariates, np.repeat(s.covariates[-1:], extra, axis=0)]))
        return np.concatenate(columns, axis=1)


def forecast_rows(series: list[Series], forecasts: np.ndarray, quantiles: list[float]) -> list[dict]:
    """The rows `seqlab forecast` writes from (S, h, Q) forecasts on the series' own scale: per series and
    step, its id, time (or index past the end), point forecast and each quantile."""
    import pandas as pd

    horizon, point, rows = forecasts.shape[1], median_index(quantiles), []
    for s, forecast in zip(series, forecasts):
        stamps = (
            pd.DatetimeIndex(future_timestamps(s.timestamps, horizon)).astype(str)
            if s.timestamps is not None
            else range(len(s), len(s) + horizon)
        )
        for step in range(horizon):
            row = {"unique_id": s.id, "ds": stamps[step], "forecast": float(forecast[step, point])}
            row.update({f"q{q:g}": float(forecast[step, j]) for j, q in enumerate(quantiles)})
            rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Labelled series for classification (the UCR/UEA archive's files)


def stack_steps(values: np.ndarray, stack: int) -> np.ndarray:
    """(T, F) → (ceil(T / stack), F * stack): every `stack` consecutive steps side by side as one,
    the last step repeated to fill the final one."""
    filled = -(-len(values) // stack) * stack
    values = np.pad(values, ((0, filled - len(values)), (0, 0)), mode="edge")
    return np.ascontiguousarray(values.reshape(filled // stack, -1))


def read_labelled_series(path: Path, data) -> list[dict]:
    """`{"values": (T, C), "label": str}` records from a `.ts` file (sktime's reader) or a UCR table:
    one series per line, the label first, then the values (tab, comma or spaces; empty ends ragged)."""
    path = Path(path)
    if path.suffix.lower() == ".ts" or (data is not None and data.format == "ts"):
        return _read_ts(path)
    records = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        cells = line.replace(",", " ").replace("\t", " ").split()
        if not cells:
            continue
        try:
            values = np.array([float(c) for c in cells[1:]])
        except ValueError:
            raise UserError(f"{path}:{n}: not a label followed by numbers (data.format=ucr)") from None
        known = np.flatnonzero(~np.isnan(values))
        values = values[: known[-1] + 1] if len(known) else values[:0]  # ragged ends are not missing
        if not len(values) or not np.isfinite(values).all():
            raise UserError(f"{path}: line {n} has no values, or a missing or infinite one inside the series")
        records.append({"values": values[:, None], "label": _label(cells[0])})
    if not records:
        raise UserError(f"{path} has no series")
    return records


def _label(cell: str) -> str:
    """A label as its name: "-1.0000000e+00" is "-1"."""
    try:
        number = float(cell)
    except ValueError:
        return cell
    return str(int(number)) if number.is_integer() else cell


def _read_ts(path: Path) -> list[dict]:
    try:
        from sktime.datasets import load_from_tsfile
    except ImportError:
        raise UserError(
            f"{path}: .ts files are read with sktime: pip install 'seqlab[demo]' (or give the series as a "
            "UCR table, data.format=ucr)"
        ) from None

    try:
        frame, labels = load_from_tsfile(str(path), return_data_type="nested_univ")
    except (OSError, ValueError, TypeError) as error:  # sktime's parse errors
        raise UserError(f"{path}: not a readable .ts file ({str(error).splitlines()[0]})") from None
    records = []
    for (_, row), label in zip(frame.iterrows(), labels):
        values = np.stack([np.asarray(cell, dtype=np.float64) for cell in row], axis=1)  # (T, C)
        if not np.isfinite(values).all():
            raise UserError(f"{path}: a series labelled {label} has a missing or infinite value")
        records.append({"values": values, "label": str(label)})
    return records


def _read_labelled(shape: str, path: Path, data, labelled: bool) -> list[dict]:
    return read_labelled_series(path, data)


def _detect(path: Path, data) -> bool:
    return data.format in ("ucr", "ts") or path.suffix.lower() == ".ts"


# Numbers to classify (the UCR and UEA archives); series to forecast are read by their tasks.
SERIES = InputKind(
    "series",
    read=_read_labelled,
    reads=("labelled",),
    detect=_detect,
    holds=lambda records: (
        isinstance(records[0], dict) and "values" in records[0] and not {"audio", "image"} & records[0].keys()
    ),  # clips already turned into frames are audio's, pixels image's
    tasks={"classify": "seqlab.tasks.series:SeriesClassifyTask"},
)
