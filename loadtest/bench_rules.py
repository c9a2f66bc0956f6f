"""What analysts' rules and lists cost a decision: 50 live rules, 10 lists of 100,000 entries.

The rules stage of one decision — the payment (decoded JSON) and its 41 features turned
into CEL variables, every rule and allow/block list evaluated, the verdict applied — is
timed in CPU (``time.process_time``) over varied payments, against two baselines measured
in the same run:

- ``core``: the in-process work every decision does (pydantic validation with the
  card-data guard, ``FeatureBook.observe``, the model with reasons), as ``ceiling.py``;
- ``service`` (unless ``--no-service``): the CPU per request of a real ``friction serve``
  (embedded store) under a closed loop, read from ``/proc``. Adding the stage to it
  flatters the rules: evaluated beside the rest of a decision they cost more than alone.

``--end-to-end`` measures the budget directly instead: ``friction serve`` twice per round,
alternating, once on an empty store and once with the 10 lists and the 50 rules (live)
saved in its store for the default tenant — the service loads, caches and applies them as
in production — and reports the ratio of their CPU per request within each round.

    .venv/bin/python loadtest/bench_rules.py                 # ~1 min
    .venv/bin/python loadtest/bench_rules.py --no-service    # ~30 s
    .venv/bin/python loadtest/bench_rules.py --end-to-end    # ~4 min: served with/without

The CEL libraries that were candidates are compared by ``loadtest/bench_cel.py``.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from loadgen import Target, closed_loop
from services import PYTHON, ROOT, friction_env, payments, resolve_models

sys.path.insert(0, str(ROOT))
from friction.api.bodies import validate
from friction.domain.facts import facts_of
from friction.domain.payment import Payment
from friction.domain.tenancy import DEFAULT_TENANT
from friction.rules import ListEntry, Matcher, Rule, RuleList, RuleSet, Vocabulary
from friction.rules.rules import Mode
from friction.scoring.explain import explain
from friction.scoring.features import FEATURE_NAMES, FeatureBook
from friction.scoring.registry import load_model
from friction.storage.sqlite_rules import SqliteRules
from tests.servers import free_port

ENTRIES = 100_000
LISTS: dict[str, tuple[str, str | None]] = {
    "stolen_cards": ("instrument", "decline"),
    "known_good": ("customer", "allow"),
    "risky_bins": ("bin", None),
    "bad_ips": ("ip", None),
    "proxy_ips6": ("ip", None),
    "mule_devices": ("device", None),
    "risky_merchants": ("merchant", None),
    "watch_customers": ("customer", None),
    "bin_prefixes": ("bin", None),
    "disposable_domains": ("email_domain", None),
}


def list_values(kind: str, rng: random.Random) -> list[str]:
    """``ENTRIES`` distinct values of a kind, as analysts would load them."""
    if kind == "bin":
        starts = rng.sample(range(100_000, 999_000), ENTRIES)
        return [f"{s}-{s + rng.randint(1, 50)}" if i % 2 else str(s) for i, s in enumerate(starts)]
    if kind == "ip":
        return [
            f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24"
            if i % 2
            else f"2001:db8:{rng.randint(0, 65535):x}:{i & 0xFFFF:x}::/64"
            for i in range(ENTRIES)
        ]
    if kind == "email_domain":
        return [f"d{i}-{rng.randint(0, 10**6)}.example" for i in range(ENTRIES)]
    return [f"{kind[:3]}_{i:07d}x" for i in range(ENTRIES)]


def list_contents(now: datetime) -> list[tuple[RuleList, list[ListEntry]]]:
    """The 10 lists and their entries (a tenth of each expiring), from a fixed seed."""
    rng = random.Random(3)
    out = []
    for name, (kind, action) in LISTS.items():
        entries = [
            ListEntry.model_construct(
                value=value,
                reason="bench",
                added_by="bench",
                added_at=now,
                expires_at=now + timedelta(days=1 + i % 30) if i % 10 == 0 else None,
            )
            for i, value in enumerate(dict.fromkeys(list_values(kind, rng)))
        ]
        out.append((RuleList(name=name, kind=kind, action=action), entries))  # type: ignore[arg-type]
    return out


def build_lists(now: datetime) -> tuple[list[tuple[RuleList, Matcher]], float]:
    """The 10 lists as matchers; the slowest matcher build in seconds."""
    built, slowest = [], 0.0
    for spec, entries in list_contents(now):
        started = time.process_time()
        matcher = Matcher(spec.kind, entries)
        slowest = max(slowest, time.process_time() - started)
        built.append((spec, matcher))
    return built, slowest


def bench_rules(mode: Mode = "live") -> list[Rule]:
    """The 50 rules, each asking for a challenge (``shadow``: evaluated, never acting)."""
    return [
        Rule(id=f"r{i:02d}", expression=e, action="challenge", mode=mode)
        for i, e in enumerate(expressions())
    ]


def expressions() -> list[str]:
    """50 rules of the shapes analysts write: amounts, features, score, list membership."""
    shapes = [
        "payment.amount.value > {a} && features.amount_ratio_median_30d > 5.0",
        "score > 0.{b} && payment.channel == 'ecom' && features.first_terminal == 1.0",
        "payment.merchant.country in ['NG', 'RU', 'X{i}'] && features.cust_count_1d > 3.0",
        "in_list(lists.risky_bins, payment.instrument.bin) && score > 0.{c}",
        "has(payment.device.ip) && in_list(lists.bad_ips, payment.device.ip)",
        "features.terminal_fraud_7d > {i}.0 || features.terminal_risk_14d > 0.{b}",
        "in_list(lists.mule_devices, payment.device.id) || "
        "in_list(lists.watch_customers, payment.customer.id)",
        "double(payment.amount.value) > 20.0 * features.cust_mean_30d && features.is_night == 1.0",
        "in_list(lists.risky_merchants, payment.merchant.id) && payment.amount.value > {a}",
        "payment.merchant.mcc.startsWith('49') && features.secs_since_last < {i}0.0",
    ]
    return [
        shapes[i % len(shapes)].format(a=10_000 + 97 * i, b=50 + i, c=10 + i, i=i)
        for i in range(50)
    ]


def bench_payments(n: int) -> list[tuple[dict[str, Any], dict[str, float], float]]:
    """Varied payments as the score body decodes, with features and a score each."""
    rng = random.Random(5)
    make = payments("rules")
    out = []
    for i in range(n):
        body = orjson.loads(make(i))
        body["instrument"]["bin"] = str(rng.randint(100_000, 999_999))
        body["device"]["ip"] = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.1.{i % 250}"
        features = {name: rng.lognormvariate(0, 1) for name in FEATURE_NAMES}
        out.append((body, features, rng.random()))
    return out


def cpu_us(call: Callable[[int], object], n: int, repeats: int = 5) -> float:
    """Median over ``repeats`` of the CPU µs per call (after a warm-up of 200 calls)."""
    for i in range(200):
        call(i)
    samples = []
    for _ in range(repeats):
        started = time.process_time()
        for i in range(n):
            call(i)
        samples.append((time.process_time() - started) / n * 1e6)
    return statistics.median(samples)


def measure_rules(calls: int) -> dict[str, float]:
    """Compile, one rule, 50 rules + 10 lists: µs (CPU)."""
    now = datetime.now(UTC)
    vocabulary = Vocabulary(Payment.model_json_schema())
    lists, slowest_build = build_lists(now)
    sources = expressions()
    rules = bench_rules()
    started = time.process_time()
    full = RuleSet(vocabulary, rules, lists)
    build_s = time.process_time() - started
    assert not full.broken, full.broken
    one = RuleSet(vocabulary, rules[3:4], lists)
    cases = bench_payments(512)

    def decide(ruleset: RuleSet) -> Callable[[int], object]:
        def call(i: int) -> object:
            body, features, score = cases[i % len(cases)]
            return ruleset.evaluate(body, features, score).apply("allow")

        return call

    hits = sum(bool(full.evaluate(*case).matched) for case in cases)
    compile_us = cpu_us(lambda i: vocabulary.check(sources[i % 50], LISTS), max(calls // 20, 200))
    return {
        "compile_us_per_rule": compile_us,
        "one_rule_us": cpu_us(decide(one), calls),
        "rules50_lists10_us": cpu_us(decide(full), calls),
        "ruleset_build_ms": build_s * 1000,
        "matcher_build_s_max": slowest_build,
        "payments_matched_share": hits / len(cases),
    }


def measure_core(calls: int) -> float:
    """µs of CPU for validate + features + model with reasons, on the same payments."""
    model = load_model(resolve_models(None))
    book = FeatureBook()
    make = payments("core")
    raws = [make(i) for i in range(2048)]

    def call(i: int) -> object:
        payment = validate(raws[i % len(raws)], Payment)
        return explain(model, book.observe(facts_of(payment)), low_risk_below=0.0)

    return cpu_us(call, calls)


async def store_rules(data: Path, mode: Mode) -> None:
    """The 10 lists and 50 rules saved for the default tenant in the store at ``data``."""
    store = SqliteRules(data / "friction.db")
    try:
        for spec, entries in list_contents(datetime.now(UTC)):
            await store.save_list(DEFAULT_TENANT, spec)
            await store.add_entries(DEFAULT_TENANT, spec.name, entries)
        for rule in bench_rules(mode):
            await store.save_rule(DEFAULT_TENANT, rule)
    finally:
        await store.close()


def measure_service(seconds: float, rules: Mode | None = None) -> tuple[float, float]:
    """CPU µs per request of ``friction serve`` (embedded) under a closed loop of 16, and the
    share of requests a rule acted on (``rules``: the 50 rules, in that mode, and 10 lists)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        data = Path(workdir) / "data"
        data.mkdir(parents=True)
        if rules is not None:
            asyncio.run(store_rules(data, rules))
        env = friction_env(data, resolve_models(None), port, {})
        argv = [str(PYTHON), "-m", "friction", "serve"]
        log = (Path(workdir) / "serve.log").open("wb")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            target = Target(port, "/v1/score", payments("svc"))
            _until_ready(port, proc)
            asyncio.run(closed_loop(target, 16, 3.0, 0.0, 0, lambda _: None))  # warm-up
            before = _cpu_s(proc.pid)
            result = asyncio.run(closed_loop(target, 16, seconds, 0.0, 10**6, lambda _: None))
            used = _cpu_s(proc.pid) - before
            served = max(result.ok + result.errors, 1)
            return used / served * 1e6, _acted(port) / served
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


def _acted(port: int) -> float:
    """Decisions a live rule or list made, from ``/metrics`` (warm-up included)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("friction_rule_hits_total{") and 'acted="true"' in line
    )


def end_to_end(seconds: float, rounds: int, mode: Mode) -> dict[str, Any]:
    """CPU per request served without and with the rules, alternating; ratios per round."""
    out: dict[str, Any] = {"mode": mode, "rounds": []}
    for _ in range(rounds):
        plain, _ = measure_service(seconds)
        ruled, acted = measure_service(seconds, rules=mode)
        out["rounds"].append({
            "service_us": plain, "service_with_rules_us": ruled, "ratio": ruled / plain,
            "acted_share": acted,
        })  # fmt: skip
    ratios = [r["ratio"] for r in out["rounds"]]
    out["ratio_max"] = max(ratios)
    out["within_budget"] = max(ratios) <= 1.2
    return out


def _until_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait for ``/readyz``: the socket listens before start-up (rules loaded) is over."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("friction serve did not start")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure, print a table and a JSON line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=4000, help="decisions per repeat")
    parser.add_argument("--seconds", type=float, default=15.0, help="service load seconds")
    parser.add_argument("--no-service", action="store_true", help="skip friction serve")
    parser.add_argument(
        "--end-to-end", action="store_true", help="friction serve without and with the rules"
    )
    parser.add_argument("--rounds", type=int, default=3, help="--end-to-end rounds")
    parser.add_argument(
        "--rule-mode", choices=("live", "shadow"), default="live", help="--end-to-end rules' mode"
    )
    args = parser.parse_args(argv)
    if args.end_to_end:
        out: dict[str, Any] = end_to_end(args.seconds, args.rounds, args.rule_mode)
        for n, row in enumerate(out["rounds"], 1):
            print(f"round {n}: " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
    else:
        out = measure_rules(args.calls)
        out["core_us"] = measure_core(args.calls)
        if not args.no_service:
            out["service_us"], _ = measure_service(args.seconds)
        rules = out["rules50_lists10_us"]
        for base in ("core", "service"):
            if f"{base}_us" in out:
                out[f"ratio_vs_{base}"] = (out[f"{base}_us"] + rules) / out[f"{base}_us"]
    for key, value in out.items():
        print(f"{key:>24}  {value:.3f}" if isinstance(value, float) else f"{key:>24}  {value}")
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
