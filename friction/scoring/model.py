"""The served model: an XGBoost binary classifier evaluated in a few microseconds per payment.

Why not xgboost itself on the hot path: ``Booster.inplace_predict`` on one row costs
150-250 µs here (argument checks, a thread pool, a C++ round trip), and a gateway gives
the whole fraud check a few milliseconds. The trees are flattened into numpy arrays
once, at load, and walked by a small kernel compiled with numba: ~3 ns per tree level,
15 µs for 1 227 trees of depth 4; crediting the features from the leaves reached adds
~7 µs, paid only by payments shown reasons (figures and alternatives in
``docs/decisions-model.md``). Without numba the same kernels run as plain Python:
correct, but ~100x slower, and a warning says so.

Semantics follow xgboost's CPU predictor, so scores match ``predict`` to ~1e-7:
inputs are rounded to float32; a row goes left when ``x < threshold``; NaN (missing)
follows the node's default direction; margin = base margin + sum of the leaves;
probability = sigmoid(margin).

Contributions are Saabas path attributions: each split on the path credits its feature
with (value of the child taken - value of the node), a node's value being the
cover-weighted mean of its leaves, exactly as xgboost computes them. They equal
xgboost's ``pred_contribs=True, approx_contribs=True`` and sum, with the bias, to the
margin. Exact TreeSHAP costs O(leaves x depth^2) per tree and is left to offline use.
"""

from __future__ import annotations

import array
import importlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from friction.errors import ModelError

log = logging.getLogger(__name__)

LOGISTIC_OBJECTIVES = frozenset({"binary:logistic", "reg:logistic"})

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
K = TypeVar("K", bound=Callable[..., Any])


class Walk(NamedTuple):
    """Where one feature vector's walk ended: its score and the leaf it reached in each tree.

    The reasons need the leaves only for the few payments scored high, so the hot path
    walks once for the score and credits the features from the leaves only when asked.
    """

    score: float
    leaves: I32


class Explained(NamedTuple):
    """A score with its per-feature contributions (margin space; last item: the bias)."""

    score: float
    contributions: F64
    ranked: I32
    """Indices of the features with positive contribution, largest first, then -1."""


NODE = np.dtype(
    [("thr", "f4"), ("left", "i4"), ("feat", "i2"), ("dleft", "u1"), ("pad", "u1"), ("value", "f4")]
)
"""One tree node in 16 bytes, so a step of the walk touches one cache line, not five.

``left`` is the left child; the right child is always ``left + 1``. A leaf points to
itself with a NaN threshold, so extra steps past a leaf stay on it: every tree of a
group is walked a fixed number of steps, without a data-dependent loop exit. ``value``
is the leaf value at leaves and the cover-weighted mean at splits (for contributions).
"""

GROUP = 4
"""Trees walked side by side: their independent loads overlap (~2x over one at a time)."""


def _step(x: F32, nodes: NDArray[np.void], node: int) -> int:
    """One level down; NaN fails both comparisons and so takes the default direction."""
    rec = nodes[node]
    v = x[rec.feat]
    right = (v >= rec.thr) if rec.dleft else not (v < rec.thr)
    return int(rec.left + right)


def _value(nodes: NDArray[np.void], node: int) -> float:
    """A node's value widened to float64: float32 sums would lose ~1e-7 per tree."""
    return float(np.float64(nodes[node].value))


def _walk_kernel(x: F32, roots: I32, depths: I32, nodes: NDArray[np.void], leaves: I32) -> float:
    """Sum of the leaves reached by ``x`` (without the base margin); ``leaves`` gets them."""
    total = 0.0
    count = roots.shape[0]
    t = 0
    while t + GROUP <= count:
        a, b, c, d = roots[t], roots[t + 1], roots[t + 2], roots[t + 3]
        for _ in range(depths[t]):  # trees are sorted deepest first
            a = _step(x, nodes, a)
            b = _step(x, nodes, b)
            c = _step(x, nodes, c)
            d = _step(x, nodes, d)
        leaves[t], leaves[t + 1], leaves[t + 2], leaves[t + 3] = a, b, c, d
        total += _value(nodes, a) + _value(nodes, b) + _value(nodes, c) + _value(nodes, d)
        t += GROUP
    while t < count:
        a = roots[t]
        for _ in range(depths[t]):
            a = _step(x, nodes, a)
        leaves[t] = a
        total += _value(nodes, a)
        t += 1
    return total


def _credit_kernel(
    leaves: I32, path_feat: NDArray[np.int16], path_credit: F64, out: F64, ranked: I32
) -> None:
    """Fill ``out`` (features..., bias excluded) with the Saabas credits of the paths that
    ended at ``leaves``, and ``ranked`` with the features of positive credit, largest first.

    Each leaf's path is precomputed (``_paths``): no tree is walked again, and the reads
    are sequential rather than a chain of dependent loads (~6 µs against ~12 for walking
    back up through parent links, 1 227 trees).
    """
    out[:] = 0.0
    depth = path_feat.shape[1]
    for t in range(leaves.shape[0]):
        leaf = leaves[t]
        for k in range(depth):
            out[path_feat[leaf, k]] += path_credit[leaf, k]
    _rank(out, ranked)


def _rank(out: F64, ranked: I32) -> None:
    """Insertion sort of the positive credits' indices, largest first (23 items: trivial)."""
    ranked[:] = -1
    size = 0
    for feature in range(out.shape[0] - 1):
        credit = out[feature]
        if credit <= 0.0:
            continue
        i = size
        while i > 0 and out[ranked[i - 1]] < credit:
            ranked[i] = ranked[i - 1]
            i -= 1
        ranked[i] = feature
        size += 1


def _numba() -> Any:
    """The numba module if it is installed and compiling (not NUMBA_DISABLE_JIT), else None."""
    try:
        numba = importlib.import_module("numba")
    except ImportError:
        log.warning("numba is not installed: model scoring runs in pure Python (~100x slower)")
        return None
    return None if numba.config.DISABLE_JIT else numba


_NUMBA = _numba()
COMPILED = _NUMBA is not None
"""Whether the kernels below are numba-compiled (else plain Python, ~100x slower)."""


def _compile(function: K) -> K:
    """The numba-compiled kernel; the Python one (slow, same results) without numba."""
    if _NUMBA is None:
        return function
    try:
        return cast(K, _NUMBA.njit(nogil=True, cache=True)(function))
    except RuntimeError:  # no writable cache directory: compile in every process
        return cast(K, _NUMBA.njit(nogil=True)(function))


# Order matters: the kernels call the compiled helpers through these module globals.
_step = _compile(_step)
_value = _compile(_value)
_rank = _compile(_rank)
_WALK = _compile(_walk_kernel)
_CREDIT = _compile(_credit_kernel)


def sigmoid(margin: float) -> float:
    """Logistic function that does not overflow for large negative margins."""
    if margin >= 0:
        return 1.0 / (1.0 + math.exp(-margin))
    e = math.exp(margin)
    return e / (1.0 + e)


class Model:
    """A binary XGBoost model ready to score one payment at a time."""

    def __init__(self, raw: bytes, *, version: str, feature_names: Sequence[str]) -> None:
        """Parse ``raw`` (XGBoost JSON) and flatten its trees; warms the kernels up."""
        doc = json.loads(raw)
        self.version = version
        self.feature_names: tuple[str, ...] = tuple(feature_names)
        self._raw = bytes(raw)
        self.base_margin = _base_margin(doc, len(self.feature_names))
        trees = doc["learner"]["gradient_booster"]["model"]["trees"]
        self._arrays = _flatten(trees)
        roots, _, nodes = self._arrays
        self._paths = _paths(nodes)
        self._bias = self.base_margin + float(nodes["value"][roots].astype(np.float64).sum())
        self.n_trees = len(trees)
        self._width = len(self.feature_names)
        self._booster: Any = None
        self.predict([math.nan] * self._width)  # compile now, not on a request
        self.contributions([math.nan] * self._width)

    @classmethod
    def from_booster(cls, booster: Any, *, version: str, feature_names: Sequence[str]) -> Model:
        """A model from an in-memory ``xgboost.Booster`` (tests, benchmarks, training)."""
        return cls(bytes(booster.save_raw("json")), version=version, feature_names=feature_names)

    def _row(self, vector: Sequence[float] | F64 | F32) -> F32:
        """The vector as contiguous float32, xgboost's input precision."""
        if isinstance(vector, np.ndarray):
            row = np.ascontiguousarray(vector, dtype=np.float32)
        else:
            row = np.frombuffer(array.array("f", vector), dtype=np.float32)
        if row.shape != (self._width,):
            raise ValueError(f"expected {self._width} features, got shape {row.shape}")
        return row

    def walk(self, vector: Sequence[float] | F64 | F32) -> Walk:
        """Fraud probability of one feature vector (NaN = missing), and the leaves reached."""
        leaves = np.empty(self.n_trees, dtype=np.int32)
        margin = self.base_margin + _WALK(self._row(vector), *self._arrays, leaves)
        return Walk(sigmoid(margin), leaves)

    def margin(self, vector: Sequence[float] | F64 | F32) -> float:
        """Raw score (log-odds) of one feature vector."""
        leaves = np.empty(self.n_trees, dtype=np.int32)
        return self.base_margin + _WALK(self._row(vector), *self._arrays, leaves)

    def predict(self, vector: Sequence[float] | F64 | F32) -> float:
        """Fraud probability of one feature vector (NaN = missing)."""
        return self.walk(vector).score

    def credit(self, walked: Walk) -> Explained:
        """Contributions of a walk's features and their ranking (for reason codes)."""
        contributions = np.empty(self._width + 1, dtype=np.float64)
        ranked = np.empty(self._width, dtype=np.int32)
        _CREDIT(walked.leaves, *self._paths, contributions, ranked)
        contributions[-1] = self._bias
        return Explained(walked.score, contributions, ranked)

    def explain(self, vector: Sequence[float] | F64 | F32) -> Explained:
        """Score, contributions and their ranking: a walk, then its credits."""
        return self.credit(self.walk(vector))

    def contributions(self, vector: Sequence[float] | F64 | F32) -> list[tuple[str, float]]:
        """(feature, contribution in margin space) pairs, plus ``("bias", …)`` last."""
        out = self.explain(vector).contributions
        return [*zip(self.feature_names, out[:-1].tolist(), strict=True), ("bias", float(out[-1]))]

    def predict_batch(self, matrix: NDArray[np.floating] | Sequence[Sequence[float]]) -> F32:
        """Probabilities for many rows through xgboost itself (backtests, training)."""
        if self._booster is None:
            xgboost = importlib.import_module("xgboost")
            booster = xgboost.Booster()
            booster.load_model(bytearray(self._raw))
            self._booster = booster
        data = np.asarray(matrix, dtype=np.float32)
        return cast(F32, np.asarray(self._booster.inplace_predict(data, missing=np.nan)))

    def to_json(self) -> bytes:
        """The XGBoost JSON the model was built from."""
        return self._raw

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, trees={self.n_trees})"


def _base_margin(doc: dict[str, Any], width: int) -> float:
    """Check the model is one this evaluator serves exactly; its base score as a margin."""
    learner = doc["learner"]
    booster = learner["gradient_booster"]["name"]
    objective = learner["objective"]["name"]
    params = learner["learner_model_param"]
    if booster != "gbtree":
        raise ModelError(f"booster {booster!r} is not supported (gbtree only)")
    if objective not in LOGISTIC_OBJECTIVES:
        raise ModelError(f"objective {objective!r} is not supported (binary:logistic only)")
    if int(params.get("num_class", "0")) > 1 or int(params.get("num_target", "1")) != 1:
        raise ModelError("multi-class or multi-target models are not supported")
    if int(params["num_feature"]) != width:
        raise ModelError(f"model has {params['num_feature']} features, its card {width}")
    # xgboost 3 writes "[5E-1]" (a vector); 2.x wrote "5E-1".
    base = float(str(params["base_score"]).strip("[]"))
    if not 0.0 < base < 1.0:
        raise ModelError(f"base_score {base} is not a probability")
    return float(np.float32(math.log(base / (1.0 - base))))


def _flatten(trees: list[dict[str, Any]]) -> tuple[I32, I32, NDArray[np.void]]:
    """All trees in one node array: (roots, depths, nodes), deepest trees first."""
    laid = sorted((_layout(tree) for tree in trees), key=lambda pair: -pair[0])
    roots, offset = [], 0
    for _, records in laid:
        roots.append(offset)
        offset += len(records)
    nodes = np.zeros(offset, dtype=NODE)
    for root, (_, records) in zip(roots, laid, strict=True):
        block = nodes[root : root + len(records)]
        for field in ("thr", "left", "feat", "dleft", "value"):
            block[field] = [r[field] for r in records]
        block["left"] += np.where(block["left"] >= 0, root, 0)
        leaves = block["left"] < 0
        block["left"][leaves] = np.arange(root, root + len(records))[leaves]
    depths = [depth for depth, _ in laid]
    if not COMPILED:  # plain Python reads fields as attributes only on a recarray
        nodes = nodes.view(np.recarray)  # (numba dispatches a recarray ~4 µs slower)
    return np.asarray(roots, dtype=np.int32), np.asarray(depths, dtype=np.int32), nodes


def _paths(nodes: NDArray[np.void]) -> tuple[NDArray[np.int16], F64]:
    """Each node's path to its root as (feature, credit) steps, nearest split first.

    A step credits the split's feature with value(child) - value(split), in float64 as the
    walk sums them; paths shorter than the deepest tree end in (0, 0.0), which adds nothing.
    """
    count = nodes.shape[0]
    index = np.arange(count, dtype=np.int32)
    split = nodes["left"] != index  # a leaf points to itself
    parents = np.full(count, -1, dtype=np.int32)
    parents[nodes["left"][split]] = index[split]
    parents[nodes["left"][split] + 1] = index[split]
    values = nodes["value"].astype(np.float64)
    steps = []
    node = index
    while (node_parent := parents[node]).max(initial=-1) >= 0:
        up = node_parent >= 0
        above = np.where(up, node_parent, node)
        steps.append((np.where(up, nodes["feat"][above], 0), values[node] - values[above]))
        node = above
    if not steps:  # every tree a single leaf: nothing to credit
        steps.append((np.zeros(count), np.zeros(count)))
    feats = np.stack([f for f, _ in steps], axis=1).astype(np.int16)
    return feats, np.ascontiguousarray(np.stack([c for _, c in steps], axis=1))


def _layout(tree: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """One tree breadth-first, so that each right child sits just after its left; its depth."""
    if any(tree["split_type"]) or tree["categories_nodes"]:
        raise ModelError("categorical splits are not supported")
    left, right = tree["left_children"], tree["right_children"]
    means = _node_means(tree)
    order, depth_of, new_id = [0], {0: 0}, {0: 0}
    records: list[dict[str, Any]] = []
    for old in order:  # grows while iterating: a breadth-first walk
        lc = left[old]
        record = {"thr": math.nan, "left": -1, "feat": 0, "dleft": 1, "value": means[old]}
        if lc >= 0:
            new_id[lc], new_id[right[old]] = len(order), len(order) + 1
            depth_of[lc] = depth_of[right[old]] = depth_of[old] + 1
            order += [lc, right[old]]
            feature = tree["split_indices"][old]
            if not 0 <= feature < 2**15:
                raise ModelError(f"split on feature {feature}: out of range")
            record.update(thr=tree["split_conditions"][old], left=new_id[lc], feat=feature,
                          dleft=tree["default_left"][old])  # fmt: skip
        records.append(record)
    return max(depth_of.values()), records


def _node_means(tree: dict[str, Any]) -> list[float]:
    """Leaf value at leaves; cover-weighted mean of the children at splits (xgboost's rule)."""
    left, right = tree["left_children"], tree["right_children"]
    cover, leaf = tree["sum_hessian"], tree["split_conditions"]
    means = [0.0] * len(left)
    # Children always have larger ids than their parent, so one backwards pass suffices.
    # Means are kept in float64 here and stored as float32 (the precision of the leaves).
    for node in range(len(left) - 1, -1, -1):
        lc, rc = left[node], right[node]
        if lc < 0:
            means[node] = float(np.float32(leaf[node]))
        elif cover[node] > 0:
            means[node] = (means[lc] * cover[lc] + means[rc] * cover[rc]) / cover[node]
        else:
            means[node] = (means[lc] + means[rc]) / 2.0
    return means
