"""Problems: digit statistics, the arithmetic load C, sampling over strata, splits, CSV import.

Every definition here is the project's single source of truth (the dataset card, dataset_card.md,
states them for users); the dataset, the lm-eval tasks and the leaderboard import these functions.

>>> load(47, 36)
16
>>> load(8004004, 500)
40
>>> load(7, 8)
4
>>> template(8004004)
'D00D00D'
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dataset_builder.errors import UserError

MAX_DIGITS = 9
MIN_C, MAX_C = 4, (2 * MAX_DIGITS) ** 2
"""C of 1-digit x 1-digit problems (2 x 2) and of two 9-digit operands without zeros (18 x 18)."""
C_BANDS: tuple[tuple[int, int], ...] = ((4, 25), (26, 50), (51, 100), (101, 200), (201, 324))
"""The ranges of C that the tasks report accuracy in and the test design gives power in."""
C_EDGES: tuple[int, ...] = (*(low for low, _ in C_BANDS), C_BANDS[-1][1])
"""The bands as bin edges (4, 26, 51, 101, 201, 324), for binning C."""
MIN_TEST_PER_BAND = 385
"""Test problems the default set holds in every C band at least: a 95% interval of +/-5 points at 50%."""
SPLITS: tuple[str, ...] = ("train", "validation", "test")
MINI = "mini"
"""A split of its own beside the three: a stratified selection of test problems for costly models (mini_selection)."""
MINI_PER_BAND = 30
"""Test problems of each C band in the mini split: a 95% interval of about +/-17 points per band at 50%,
+/-8 overall (150 problems)."""
SPLIT_ALIASES = {"val": "validation"}
"""Other names a problem file may give a split: the paper's released grid, HDS and traps files write `val`."""
SPLIT_SHARES: tuple[float, ...] = (0.70, 0.15, 0.15)
DEFAULT_SEED = 20260418
DEFAULT_PER_STRATUM = 5
MAX_PER_STRATUM = 40
"""The 1-digit x 2-digit strata and their mirrors share 81 problems up to commutativity."""

EXTENDED_MAX_DIGITS = 30
EXTENDED_BANDS: tuple[tuple[int, int], ...] = (
    (101, 200),
    (201, 324),
    (325, 625),
    (626, 1225),
    (1226, 2025),
    (2026, 3600),
)
"""The extended set's C bands: four beyond the base set's 324 (every C of two operands of up to 30 digits above
it; C <= digit total squared, so those problems have 19 digits or more in all), and below them the base set's top
two bands, drawn from the base set's strata (`band_strata`): anchors, so that a run of the extended set alone
sees accuracy fall from high to low and its fit states a C50 near 324, the seam between the two sets (without
them the fit projects such a C50 below the set's range, benchmarks/headroom.py)."""
ALL_BANDS: tuple[tuple[int, int], ...] = tuple(dict.fromkeys(C_BANDS + EXTENDED_BANDS))
EXTENDED_STRATA_PER_BAND = 514
"""Strata drawn in each extended band: 514 x 5 problems give 2570 per band, 385 of them test (15%)."""
EXTENDED_SLICES_PER_BAND = 20
"""Equal slices of C that each extended band's strata are spread over (`extended_strata`), so its problems cover
the band's C range evenly rather than bunch where the most strata lie."""


@dataclass(frozen=True)
class ProblemSetSpec:
    """A named problem set: the operands' digit range, its C bands, and its problem ids' prefix."""

    name: str
    max_digits: int
    bands: tuple[tuple[int, int], ...]
    id_prefix: str

    @property
    def max_c(self) -> int:
        return (2 * self.max_digits) ** 2


BASE, EXTENDED = "base", "extended"
PROBLEM_SETS: dict[str, ProblemSetSpec] = {
    BASE: ProblemSetSpec(BASE, MAX_DIGITS, C_BANDS, "p"),
    EXTENDED: ProblemSetSpec(EXTENDED, EXTENDED_MAX_DIGITS, EXTENDED_BANDS, "e"),
}
"""The base set (the paper's design, operands up to 9 digits, C up to 324: the default build) and the extended
set (operands up to 30 digits, C from 101 to 3600: built only when its configs are named)."""


PRODUCT_COLUMNS = frozenset({"a_times_b", "product"})


class ProblemError(UserError, ValueError):
    """A problem or a problem file that the benchmark cannot use, with what to do about it."""


def digit_count(n: int) -> int:
    """Number of decimal digits of a positive integer."""
    return len(str(n))


def nonzero_count(n: int) -> int:
    """Number of non-zero decimal digits: nonzero_count(8004004) == 3."""
    return sum(d != "0" for d in str(n))


def template(n: int) -> str:
    """The operand's digits with every non-zero digit written D: 500 -> 'D00'."""
    return "".join("0" if d == "0" else "D" for d in str(n))


def load(a: int, b: int) -> int:
    """Arithmetic load C = (digits of a + digits of b) * (non-zero digits of a + of b)."""
    return (digit_count(a) + digit_count(b)) * (nonzero_count(a) + nonzero_count(b))


def stratum_name(digits_a: int, digits_b: int, nonzero_a: int, nonzero_b: int) -> str:
    """Stratum label: stratum_name(7, 3, 3, 1) == 'd7x3_n3x1'."""
    return f"d{digits_a}x{digits_b}_n{nonzero_a}x{nonzero_b}"


@dataclass(frozen=True)
class Problem:
    """One multiplication problem with every statistic the benchmark analyses."""

    problem_id: str
    a: int
    b: int
    product: int
    digits_a: int
    digits_b: int
    nonzero_a: int
    nonzero_b: int
    digit_total: int
    nonzero_total: int
    C: int
    template_a: str
    template_b: str
    stratum: str
    split: str

    @classmethod
    def of(cls, problem_id: str, a: int, b: int, split: str, max_digits: int = MAX_DIGITS) -> Problem:
        """Build a problem from its operands; every statistic is derived here and only here."""
        check_operand(a, max_digits)
        check_operand(b, max_digits)
        da, db, na, nb = digit_count(a), digit_count(b), nonzero_count(a), nonzero_count(b)
        return cls(
            problem_id=problem_id,
            a=a,
            b=b,
            product=a * b,
            digits_a=da,
            digits_b=db,
            nonzero_a=na,
            nonzero_b=nb,
            digit_total=da + db,
            nonzero_total=na + nb,
            C=(da + db) * (na + nb),
            template_a=template(a),
            template_b=template(b),
            stratum=stratum_name(da, db, na, nb),
            split=split,
        )

    def as_dict(self) -> dict[str, int | str]:
        return dataclasses.asdict(self)


PROBLEM_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Problem))


def check_operand(n: int, max_digits: int = MAX_DIGITS) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n < 10**max_digits:
        raise ProblemError(f"operands must be integers from 1 to {10**max_digits - 1}, got {n!r}")


def strata(max_digits: int = MAX_DIGITS) -> Iterator[tuple[int, int, int, int]]:
    """Every feasible (digits_a, digits_b, nonzero_a, nonzero_b): 2025 of them up to 9 digits."""
    for da, db in itertools.product(range(1, max_digits + 1), repeat=2):
        for na, nb in itertools.product(range(1, da + 1), range(1, db + 1)):
            yield da, db, na, nb


def draw_operand(rng: random.Random, digits: int, nonzero: int) -> int:
    """A random operand with the given digit count and non-zero digit count.

    The leading digit is non-zero; the other non-zero digits sit at uniformly chosen positions;
    every non-zero digit is uniform over 1-9.
    """
    positions = [0, *rng.sample(range(1, digits), nonzero - 1)]
    chars = ["0"] * digits
    for position in positions:
        chars[position] = str(rng.randint(1, 9))
    return int("".join(chars))


def split_named(raw: str | None) -> str | None:
    """The split a file's value names: one of SPLITS, or an alias of one (SPLIT_ALIASES); None for any other.

    >>> split_named("val"), split_named(" test "), split_named("dev")
    ('validation', 'test', None)
    """
    value = (raw or "").strip()
    value = SPLIT_ALIASES.get(value, value)
    return value if value in SPLITS else None


def split_choices() -> str:
    """The split values a problem file may hold, for error messages."""
    return ", ".join([*SPLITS, *(f"{alias} (for {split})" for alias, split in SPLIT_ALIASES.items())])


def split_order(split: str) -> int:
    """Sort key: train, validation, test, mini."""
    return (*SPLITS, MINI).index(split)


def assign_splits(count: int) -> list[str]:
    """Deal `count` consecutive items to the splits so that every run of items is proportional.

    Each item goes to the split furthest behind its quota (SPLIT_SHARES), so totals are within
    one item of 70/15/15 and items that sit together (one stratum) are spread the same way.
    """
    dealt = [0] * len(SPLITS)
    out = []
    for i in range(count):
        deficits = [share * (i + 1) - dealt[k] for k, share in enumerate(SPLIT_SHARES)]
        k = max(range(len(SPLITS)), key=lambda j: (deficits[j], -j))
        dealt[k] += 1
        out.append(SPLITS[k])
    return out


def generate(
    per_stratum: int = DEFAULT_PER_STRATUM, seed: int = DEFAULT_SEED, min_test_per_band: int = MIN_TEST_PER_BAND
) -> list[Problem]:
    """The default problem set: `per_stratum` problems in each of the 2025 strata, split 70/15/15,
    then test problems added in the C bands that hold fewer than `min_test_per_band` (see `supplement`).

    Problems are unique up to commutativity, and the output depends only on the arguments
    (Python's Mersenne Twister gives the same stream on every machine).
    """
    if not 1 <= per_stratum <= MAX_PER_STRATUM:
        raise ProblemError(
            f"--per-stratum must be between 1 and {MAX_PER_STRATUM}, got {per_stratum}: the "
            "1-digit x 2-digit strata and their mirrors hold only 81 distinct problems."
        )
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    for da, db, na, nb in strata():
        drawn = 0
        while drawn < per_stratum:
            a, b = draw_operand(rng, da, na), draw_operand(rng, db, nb)
            key = (min(a, b), max(a, b))
            if key not in seen:
                seen.add(key)
                pairs.append((a, b))
                drawn += 1
    splits = _stratified_splits(pairs, per_stratum, rng)
    base = [Problem.of(f"p{i:05d}", a, b, split) for i, ((a, b), split) in enumerate(zip(pairs, splits, strict=True))]
    return base + supplement(base, seed, min_test_per_band)


def generate_extended(
    per_stratum: int = DEFAULT_PER_STRATUM, seed: int = DEFAULT_SEED, min_test_per_band: int = MIN_TEST_PER_BAND
) -> list[Problem]:
    """The extended set: operands of 1 to 30 digits, C from 101 to 3600, ids e00000 on.

    The base set's factorial logic over digit length and sparsity, on a sample of its strata (30 x 30 digit
    lengths hold 185,083 strata above C = 324): in each extended band, EXTENDED_STRATA_PER_BAND strata spread
    over its C range (`extended_strata`; the bands 101-200 and 201-324 from the base set's strata, as anchors),
    `per_stratum` problems in each, split 70/15/15 within each stratum's block, then test
    problems added where a band holds fewer than `min_test_per_band` (`supplement`). Its random streams are its
    own (seeded from `seed` and the set's name), so the base set does not change.
    """
    spec = PROBLEM_SETS[EXTENDED]
    rng = random.Random(f"{seed}:{EXTENDED}")
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    for da, db, na, nb in extended_strata(rng):
        drawn = 0
        for _ in range(100 * per_stratum):
            a, b = draw_operand(rng, da, na), draw_operand(rng, db, nb)
            if (min(a, b), max(a, b)) not in seen:
                seen.add((min(a, b), max(a, b)))
                pairs.append((a, b))
                drawn += 1
            if drawn == per_stratum:
                break
    splits = _stratified_splits(pairs, per_stratum, rng)
    base = [
        Problem.of(f"{spec.id_prefix}{i:05d}", a, b, split, spec.max_digits)
        for i, ((a, b), split) in enumerate(zip(pairs, splits, strict=True))
    ]
    return base + supplement(base, seed, min_test_per_band, spec)


def extended_strata(rng: random.Random) -> list[tuple[int, int, int, int]]:
    """The extended set's strata, EXTENDED_STRATA_PER_BAND in each band, in strata order (a stratum may come more
    than once: each time it holds one more block of problems).

    Each band is cut into EXTENDED_SLICES_PER_BAND equal slices of C, which take strata in turn (`SliceTurn`), so
    the band's problems spread evenly over its C range: a draw over the strata alone would bunch them where most
    strata lie and leave the top of the range nearly empty (C 3,600 has one stratum, 30 x 30 digits, none zero).
    A slice that holds no stratum is skipped."""
    chosen: list[tuple[int, int, int, int]] = []
    for band in EXTENDED_BANDS:
        slices = [SliceTurn(levels, rng) for levels in _band_slices(band).values()]
        turns = itertools.islice(itertools.cycle(slices), EXTENDED_STRATA_PER_BAND)
        chosen += sorted(turn.next() for turn in turns)
    return chosen


def _band_slices(band: tuple[int, int]) -> dict[int, dict[tuple[int, int], list[tuple[int, int]]]]:
    """A band's extended strata by slice of C (the slices that hold any), then by digit lengths: their sparsity
    levels."""
    low, high = band
    width = (high - low + 1) / EXTENDED_SLICES_PER_BAND
    slices: dict[int, dict[tuple[int, int], list[tuple[int, int]]]] = {}
    for da, db, na, nb in band_strata(band, EXTENDED_MAX_DIGITS):
        C = (da + db) * (na + nb)
        slices.setdefault(int((C - low) / width), {}).setdefault((da, db), []).append((na, nb))
    return dict(sorted(slices.items()))


class SliceTurn:
    """The strata one slice of C gives in turn: its digit-length pairs in a shuffled turn, each time with one of the
    pair's sparsity levels in the slice not yet taken; once every stratum of the slice is taken, a new round."""

    def __init__(self, levels: dict[tuple[int, int], list[tuple[int, int]]], rng: random.Random) -> None:
        self.levels, self.rng = levels, rng
        self.lengths = sorted(levels)
        rng.shuffle(self.lengths)
        self.size = sum(map(len, levels.values()))
        self.turn = 0
        self.taken: set[tuple[int, int, int, int]] = set()

    def next(self) -> tuple[int, int, int, int]:
        if len(self.taken) == self.size:
            self.taken.clear()
        while True:
            da, db = self.lengths[self.turn % len(self.lengths)]
            self.turn += 1
            left = [level for level in self.levels[(da, db)] if (da, db, *level) not in self.taken]
            if left:
                stratum = (da, db, *self.rng.choice(left))
                self.taken.add(stratum)
                return stratum


def band_strata(band: tuple[int, int], max_digits: int) -> list[tuple[int, int, int, int]]:
    """The strata of operands of up to `max_digits` digits whose C lies in the band; a band within the base set's
    range takes the base set's strata (up to 9 digits) in every set, so the extended set's anchor bands hold
    problems like the base set's own.

    >>> len(band_strata((201, 324), 9)) == len(band_strata((201, 324), 30)), len(band_strata((2026, 3600), 30))
    (True, 10381)
    """
    digits = MAX_DIGITS if band[1] <= MAX_C else max_digits
    return [s for s in strata(digits) if band[0] <= (s[0] + s[1]) * (s[2] + s[3]) <= band[1]]


def band_of(C: int, bands: tuple[tuple[int, int], ...] = C_BANDS) -> tuple[int, int]:
    """The C band that holds C: band_of(40) == (26, 50); band_of(400, ALL_BANDS) == (325, 625)."""
    for low, high in bands:
        if low <= C <= high:
            return low, high
    raise ValueError(f"C = {C} is outside every band ({bands[0][0]} to {bands[-1][1]})")


def mini_selection(
    problems: Iterable[Problem], seed: int, per_band: int = MINI_PER_BAND, problem_set: str = BASE
) -> list[Problem]:
    """The mini split: `per_band` test problems drawn with the seed from each C band (all of a band that holds
    fewer), in the problems' order. Equal counts per band, so each band's accuracy is measured as well as the
    others'; the same problem ids in every config, so mini runs pair across configs and models.

    >>> mini = mini_selection(generate(), DEFAULT_SEED)
    >>> len(mini), Counter(band_of(p.C) for p in mini)[(201, 324)], {p.split for p in mini}
    (150, 30, {'test'})

    The extended set's selection has a stream of its own and its own bands (a CSV's problems outside them
    are left out of it).
    """
    tested = [p for p in problems if p.split == "test"]
    rng = random.Random(f"{seed}:{MINI}" if problem_set == BASE else f"{seed}:{MINI}:{problem_set}")
    chosen: set[str] = set()
    for band in PROBLEM_SETS[problem_set].bands:
        ids = sorted(p.problem_id for p in tested if band[0] <= p.C <= band[1])
        chosen.update(rng.sample(ids, min(per_band, len(ids))))
    return [p for p in tested if p.problem_id in chosen]


def design_mini(per_stratum: int, seed: int, bounds: Bounds) -> list[Problem]:
    """The mini split of a build of the default design: drawn from the whole design's test problems, then
    narrowed by the build's bounds, so that a subset build holds exactly the whole build's mini problems that
    it holds (with `bounds.with_mini`, every one its digit and C bounds admit)."""
    whole = GENERATORS[bounds.problem_set](per_stratum, seed)
    admitted = {p.problem_id for p in select(whole, bounds, seed)}
    return [p for p in mini_selection(whole, seed, problem_set=bounds.problem_set) if p.problem_id in admitted]


def supplement(
    problems: Sequence[Problem], seed: int, min_test_per_band: int, spec: ProblemSetSpec = PROBLEM_SETS[BASE]
) -> list[Problem]:
    """Test problems for the C bands whose test split holds fewer than `min_test_per_band` problems.

    C is a function of the stratum, so a band is a set of strata: the missing problems are drawn
    stratum by stratum in turn over that band's strata (a stratum whose distinct problems run out
    is skipped), from a random stream of their own, so the base set is unchanged and every
    problem stays unique up to commutativity. Ids continue after the base set's.
    """
    rng = random.Random(f"{seed}:supplement" if spec.name == BASE else f"{seed}:supplement:{spec.name}")
    seen = {(min(p.a, p.b), max(p.a, p.b)) for p in problems}
    tested = Counter(band_of(p.C, spec.bands) for p in problems if p.split == "test")
    added: list[Problem] = []
    for band in spec.bands:
        cells = band_strata(band, spec.max_digits)
        missing, full = min_test_per_band - tested[band], set()
        turn = 0
        while missing > 0 and len(full) < len(cells):
            da, db, na, nb = cells[turn % len(cells)]
            turn += 1
            if (da, db, na, nb) in full:
                continue
            for _ in range(100):
                a, b = draw_operand(rng, da, na), draw_operand(rng, db, nb)
                if (min(a, b), max(a, b)) not in seen:
                    seen.add((min(a, b), max(a, b)))
                    problem_id = f"{spec.id_prefix}{len(problems) + len(added):05d}"
                    added.append(Problem.of(problem_id, a, b, "test", spec.max_digits))
                    missing -= 1
                    break
            else:
                full.add((da, db, na, nb))
    return added


def _stratified_splits(pairs: Sequence[tuple[int, int]], per_stratum: int, rng: random.Random) -> list[str]:
    """Split labels for pairs that come in stratum blocks of `per_stratum`, shuffled within each block."""
    dealt = assign_splits(len(pairs))
    out = []
    for start in range(0, len(pairs), per_stratum):
        block = dealt[start : start + per_stratum]
        rng.shuffle(block)
        out += block
    return out


@dataclass(frozen=True)
class Bounds:
    """Limits that select a subset of problems for quick work; None means unbounded. The ranges are those of
    the problem set the bounds narrow (PROBLEM_SETS)."""

    min_digits: int | None = None
    max_digits: int | None = None
    min_c: int | None = None
    max_c: int | None = None
    limit: int | None = None
    problem_set: str = BASE
    with_mini: bool = False
    """Keep, beside the limit's sample, every problem of the whole set's mini split that the digit and C bounds
    admit (`select`), so that the subset's mini split is the whole build's (the published mini runs' problems)."""

    def __post_init__(self) -> None:
        if self.problem_set not in PROBLEM_SETS:
            raise ProblemError(f"unknown problem set {self.problem_set!r}; choose from {', '.join(PROBLEM_SETS)}")
        if not isinstance(self.with_mini, bool):
            raise ProblemError(f"with_mini must be true or false, got {self.with_mini!r}")
        spec = PROBLEM_SETS[self.problem_set]
        ranges = {"digits": (1, spec.max_digits), "c": (MIN_C, spec.max_c)}
        for kind, (low, high) in ranges.items():
            lower, upper = getattr(self, f"min_{kind}"), getattr(self, f"max_{kind}")
            for name, value in ((f"min-{kind}", lower), (f"max-{kind}", upper)):
                if value is not None and not low <= value <= high:
                    why = _beyond(spec) if value > high else ""
                    raise ProblemError(f"--{name} must be from {low} to {high}, got {value}{why}")
            if lower is not None and upper is not None and lower > upper:
                raise ProblemError(f"--min-{kind} {lower} is above --max-{kind} {upper}: nothing would be left")
        if self.limit is not None and self.limit < 1:
            raise ProblemError(f"--limit must be a positive integer, got {self.limit}")

    def admits(self, problem: Problem) -> bool:
        spec = PROBLEM_SETS[self.problem_set]
        lo_d, hi_d = self.min_digits or 1, self.max_digits or spec.max_digits
        lo_c, hi_c = self.min_c or MIN_C, self.max_c or spec.max_c
        return lo_d <= problem.digits_a <= hi_d and lo_d <= problem.digits_b <= hi_d and lo_c <= problem.C <= hi_c


def _beyond(spec: ProblemSetSpec) -> str:
    """Why a value above the base set's range is refused: the extended set holds it."""
    if spec.name != BASE:
        return ""
    extended = PROBLEM_SETS[EXTENDED]
    return (
        f" (the base set's operands have at most {spec.max_digits} digits, its C at most {spec.max_c}; the "
        f"extended set's go to {extended.max_digits} digits and C {extended.max_c}: build it with --set {EXTENDED})"
    )


def select(problems: Sequence[Problem], bounds: Bounds, seed: int = DEFAULT_SEED) -> list[Problem]:
    """Problems within the bounds; with a limit, a seeded random sample kept in original order, and with
    `bounds.with_mini` also the problems of the mini split of `problems` (mini_selection) within the bounds.

    Sampling after the full set is drawn keeps ids, operands and splits identical between a
    subset build and the full build; the sample is the same with and without the mini problems.
    """
    kept = [p for p in problems if bounds.admits(p)]
    if bounds.limit is not None and bounds.limit < len(kept):
        chosen = set(random.Random(seed + 1).sample(range(len(kept)), bounds.limit))
        if bounds.with_mini:
            mini = {p.problem_id for p in mini_selection(problems, seed, problem_set=bounds.problem_set)}
            chosen.update(i for i, p in enumerate(kept) if p.problem_id in mini)
        kept = [kept[i] for i in sorted(chosen)]
    return kept


def problem_set(per_stratum: int, seed: int, bounds: Bounds) -> list[Problem]:
    """The problems a build of the default design holds: drawn with the seed, then narrowed by the bounds
    (whose problem_set names the design: the base set, or the extended one).

    The leaderboard calls this too, to regenerate the problems of a fresh seed that a run was evaluated on.
    """
    return select(GENERATORS[bounds.problem_set](per_stratum, seed), bounds, seed)


GENERATORS = {BASE: generate, EXTENDED: generate_extended}


def read_csv(path: str | Path, problem_set: str = BASE) -> list[Problem]:
    """Problems of a CSV with columns a,b and optionally id and split (other columns ignored).

    Rows keep their order; `id` becomes problem_id and `split` (train, validation or test; `val`, the
    paper's name, is validation) is kept. Without a split column the rows are split 70/15/15 in their
    file order. A product column (`a_times_b` in the paper's grid, or `product`) must agree with a x b.
    Problems are unique up to commutativity, as in the default set: 12,34 after 34,12 is refused.
    Errors name the file, line and value. Operands have at most the problem set's digits (9, or 30 for the
    extended set).
    """
    path = Path(path)
    spec = PROBLEM_SETS[problem_set]
    columns, rows = csv_rows(path, ("a", "b"), "--from-csv takes a CSV file with columns a,b")
    if not rows:
        raise ProblemError(f"{path}: no problems in the file")
    ids, pairs, splits = [], [], []
    first_line: dict[tuple[int, int], int] = {}
    for line, row in rows:
        a, b = _csv_operand(path, line, row, "a", spec), _csv_operand(path, line, row, "b", spec)
        for column in PRODUCT_COLUMNS & set(columns):
            if (row.get(column) or "").strip() != str(a * b):
                raise ProblemError(f"{path}, line {line}: {column} is {row.get(column)} but {a} x {b} = {a * b}")
        key = (min(a, b), max(a, b))
        if key in first_line:
            raise ProblemError(
                f"{path}, line {line}: {a} x {b} repeats the problem of line {first_line[key]} "
                "(problems are unique up to commutativity); remove one of the two"
            )
        first_line[key] = line
        pairs.append((a, b))
        ids.append((row.get("id") or "").strip() or f"p{len(ids):05d}")
        if "split" in columns:
            splits.append(_csv_split(path, line, row.get("split")))
    duplicate = _first_duplicate(ids)
    if duplicate:
        raise ProblemError(f"{path}: problem id {duplicate!r} appears more than once")
    if "split" not in columns:
        splits = assign_splits(len(pairs))
    return [Problem.of(i, a, b, s, spec.max_digits) for i, (a, b), s in zip(ids, pairs, splits, strict=True)]


def csv_rows(path: Path, required: Sequence[str], hint: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the rows (with their line numbers) of a problem file that has every `required` column.

    UTF-8 with or without a byte-order mark, lines ending in LF or CRLF. Anything else is a ProblemError
    naming the file (and line): no such file, not UTF-8, not CSV, a row with more or fewer fields than
    the header names (an unquoted comma inside a field, or a cut line).
    """
    if not path.is_file():
        raise ProblemError(f"{path}: no such file; {hint}")
    rows: list[tuple[int, dict[str, str]]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        try:
            columns = list(reader.fieldnames or [])
            missing = [c for c in required if c not in columns]
            if missing:
                found = ", ".join(columns) or "none"
                raise ProblemError(f"{path}: missing column(s) {', '.join(missing)}; found {found}")
            for row in reader:
                extra, short = row.get(None) or [], [column for column in columns if row[column] is None]  # type: ignore[call-overload]
                if extra or short:
                    count = len(columns) + len(extra) - len(short)
                    raise ProblemError(f"{path}, line {reader.line_num}: {count} fields, but the header names "
                                       f"{len(columns)}; quote a field that holds a comma")  # fmt: skip
                rows.append((reader.line_num, row))
        except UnicodeDecodeError:
            raise ProblemError(f"{path}: not UTF-8 text; save it as a UTF-8 CSV file") from None
        except csv.Error as error:
            raise ProblemError(f"{path}, line {reader.line_num}: not CSV ({error})") from None
    return columns, rows


def _csv_operand(path: Path, line: int, row: dict[str, str], column: str, spec: ProblemSetSpec) -> int:
    raw = (row.get(column) or "").strip()
    if not raw.isdigit() or not raw.isascii():
        raise ProblemError(f"{path}, line {line}: column {column} must be a positive integer, got {raw!r}")
    value = int(raw)
    if not 1 <= value < 10**spec.max_digits:
        extended = (
            f"; the {EXTENDED} set takes up to {EXTENDED_MAX_DIGITS}: --set {EXTENDED}" if spec.name == BASE else ""
        )
        raise ProblemError(
            f"{path}, line {line}: column {column} is {raw}, outside 1 to {10**spec.max_digits - 1} "
            f"(operands have at most {spec.max_digits} digits{extended})"
        )
    return value


def _csv_split(path: Path, line: int, raw: str | None) -> str:
    split = split_named(raw)
    if split is None:
        raise ProblemError(f"{path}, line {line}: split must be one of {split_choices()}, got {raw!r}")
    return split


def _first_duplicate(values: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None
