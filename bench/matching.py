"""Watch-rule matching benchmark: the compiled RuleIndex against a naive regex baseline.

Articles measured, from ``shared/data/corpus``: the BBC full articles (2,225) and a sample of
the news feed entries (rss-link-db 2023 Q4, title + summary). For 100, 1,000, 10,000 and
100,000 generated rules (``bench.matching_rules``), each size in a fresh forked process pinned
to one core, it reports: compile time, memory (Python allocations held by the compiled index,
traced), BBC articles matched per second and CPU µs per article (tokenising and snippets
included; "bare" without snippets, as ``backtest`` runs), matches per article, the share of
matching (rule, article) pairs, feed entries per second, and the naive baseline (each rule as
case-insensitive regexes over the raw text) in articles per second on a sample of BBC
articles, with the speed-up. The index is compiled with the token frequencies of all corpus
records, as a store would keep them (``--no-frequencies``: word length stands in).

Three rule mixes: "specific" (rules about rarer terms, drawn from any of the 100,000 corpus
records), "broad" (everyday terms, drawn from the measured articles: a stress case), and
"fixed" (100 broad rules padded with rules that match none of the measured articles, so the
number of matches stays the same while the rule count grows).

Run: ``python -m bench.matching`` (half an hour or more; ``--sizes 100,1000 --mix specific``
for a quick look).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.matching_rules import MIXES, NaiveRule, Vocabulary, generate_rules, naive_match
from monitor.config.schema import Rule
from monitor.matching.index import RuleIndex
from monitor.matching.text import terms_of
from monitor.model import Document

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "corpus"
BBC = "bbc-news-2004-2005.jsonl"
FEED = "rss-link-db-2023q4-world-news.jsonl"


def load(path: Path, limit: int | None = None, step: int = 1) -> list[Document]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step:
                continue
            row = json.loads(line)
            docs.append(
                Document(row.get("title") or "", row.get("text") or "", row.get("source") or "")
            )
            if limit is not None and len(docs) >= limit:
                break
    return docs


def _every_record(corpus: Path) -> Iterator[Document]:
    for path in sorted(corpus.glob("*.jsonl")):
        yield from load(path)


def _frequencies(corpus: Path) -> dict[str, float]:
    """Token → share of all corpus records holding it: the statistics a store would keep."""
    df: dict[str, int] = {}
    n = 0
    for doc in _every_record(corpus):
        n += 1
        for tok in set(terms_of(doc.title)) | set(terms_of(doc.text)):
            df[tok] = df.get(tok, 0) + 1
    return {tok: count / n for tok, count in df.items()}


def _throughput(index: RuleIndex, docs: list[Document], snippets: bool = True) -> tuple[float, int]:
    """CPU seconds to match ``docs`` (best of two runs) and the number of matches."""
    best, matches = float("inf"), 0
    for _ in range(2):
        start = time.process_time()
        matches = sum(len(index.match(doc, snippets=snippets)) for doc in docs)
        best = min(best, time.process_time() - start)
    return best, matches


def run_size(
    rules: list[Rule],
    bbc: list[Document],
    feed: list[Document],
    sample: int,
    frequencies: dict[str, float] | None,
) -> dict[str, Any]:
    """Measure one rule count; meant to run in its own process."""
    start = time.process_time()
    RuleIndex.compile(rules, {}, frequencies=frequencies)
    compile_s = time.process_time() - start
    tracemalloc.start()  # a second compile, traced, for its memory
    index = RuleIndex.compile(rules, {}, frequencies=frequencies)
    grown, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    bbc_s, bbc_matches = _throughput(index, bbc)
    bare_s, _ = _throughput(index, bbc, snippets=False)
    feed_s, feed_matches = _throughput(index, feed)
    docs = bbc[:: max(1, len(bbc) // sample)][:sample]
    naive = [NaiveRule.of(r) for r in rules]
    start = time.process_time()
    naive_hits = sum(len(naive_match(naive, d)) for d in docs)
    naive_s = time.process_time() - start
    indexed_s, indexed_hits = _throughput(index, docs)
    return {
        "rules": len(rules),
        "compile_s": compile_s,
        "memory_mib": grown / 2**20,
        "compile_peak_mib": peak / 2**20,
        "bbc_per_s": len(bbc) / bbc_s,
        "bbc_us_per_doc": bbc_s / len(bbc) * 1e6,
        "bbc_matches_per_doc": bbc_matches / len(bbc),
        "bare_us_per_doc": bare_s / len(bbc) * 1e6,
        "feed_per_s": len(feed) / feed_s,
        "feed_matches_per_doc": feed_matches / len(feed),
        "share": (bbc_matches + feed_matches) / ((len(bbc) + len(feed)) * len(rules)),
        "naive_docs": len(docs),
        "naive_per_s": len(docs) / naive_s,
        "indexed_sample_per_s": len(docs) / indexed_s,
        "speedup": naive_s / indexed_s,
        "naive_hits": naive_hits,
        "indexed_hits": indexed_hits,
    }


def _child(conn: Any, *args: Any) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    conn.send(run_size(*args))
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument(
        "--mix", default="specific,broad,fixed", help="rule mixes: specific, broad, fixed"
    )
    parser.add_argument("--feed-docs", type=int, default=10_000)
    parser.add_argument("--naive-budget", type=int, default=2_000_000, help="rules × docs")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    parser.add_argument(
        "--no-frequencies", action="store_true", help="compile without token frequencies"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    bbc = load(args.corpus / BBC)
    feed = [d for d in load(args.corpus / FEED, args.feed_docs, step=7) if d.title]
    frequencies = None if args.no_frequencies else _frequencies(args.corpus)
    stats = "no token statistics" if frequencies is None else "token frequencies of the corpora"
    print(f"corpus: {len(bbc)} BBC articles, {len(feed)} feed entries; one core per size; {stats}")
    for mix in args.mix.split(","):
        all_rules, about = _rules(mix, max(sizes), args.corpus, bbc + feed)
        if not args.json:
            print(f"\n{mix}: {about}")
            print(HEAD)
        results = []
        for size in sizes:
            result = _measure(all_rules[:size], bbc, feed, args.naive_budget, frequencies)
            result["mix"] = mix
            results.append(result)
            print(json.dumps(result) if args.json else _row(result), flush=True)
        if not args.json and len(results) > 1:
            first, last = results[0], results[-1]
            full = last["bbc_us_per_doc"] / first["bbc_us_per_doc"]
            bare = last["bare_us_per_doc"] / first["bare_us_per_doc"]
            print(
                f"per-article cost, {first['rules']} → {last['rules']} rules: ×{full:.1f} "
                f"(×{bare:.1f} without snippets); matches per article ×"
                f"{last['bbc_matches_per_doc'] / max(first['bbc_matches_per_doc'], 1e-9):.0f}"
            )


def _generated(
    mix: str, count: int, corpus: Path, measured: list[Document]
) -> tuple[list[Rule], str]:
    low, high, seeds = MIXES[mix]
    source = _every_record(corpus) if seeds == "corpus" else iter(measured)
    vocab = Vocabulary.of(source, low, high)
    where = "corpus records" if seeds == "corpus" else "measured articles"
    about = (
        f"terms in {low:.2%}–{high:.0%} of {len(vocab.docs):,} {where}, each rule drawn from one"
    )
    return generate_rules(vocab, count), about


def _rules(mix: str, count: int, corpus: Path, measured: list[Document]) -> tuple[list[Rule], str]:
    """The rules of a mix. "fixed" holds the matches steady: 100 broad rules, then specific
    rules that match none of the measured articles, so only the rule count grows."""
    if mix != "fixed":
        return _generated(mix, count, corpus, measured)
    live, _ = _generated("broad", LIVE, corpus, measured)
    extra, _ = _generated("specific", int(count * 1.7), corpus, measured)
    index = RuleIndex.compile(extra, {})
    loud = {m.rule for doc in measured for m in index.match(doc, snippets=False)}
    quiet = [r for r in extra if r.name not in loud][: count - LIVE]
    if len(quiet) < count - LIVE:
        raise SystemExit(f"only {len(quiet)} quiet rules; lower the sizes")
    padded = live + [r.model_copy(update={"name": f"q{i}"}) for i, r in enumerate(quiet)]
    return padded, f"{LIVE} broad rules, the rest specific rules that match none of the articles"


LIVE = 100
HEAD = (
    f"{'rules':>7} {'compile':>8} {'memory':>7} {'BBC art/s':>9} {'µs/art':>7} {'bare µs':>7} "
    f"{'match/art':>9} {'feed/s':>7} {'share':>8} {'naive/s':>8} {'speed-up':>8}"
)


def _row(r: dict[str, Any]) -> str:
    return (
        f"{r['rules']:>7} {r['compile_s']:>7.2f}s {r['memory_mib']:>5.0f}Mi "
        f"{r['bbc_per_s']:>9.0f} {r['bbc_us_per_doc']:>7.0f} {r['bare_us_per_doc']:>7.0f} "
        f"{r['bbc_matches_per_doc']:>9.2f} {r['feed_per_s']:>7.0f} {r['share']:>8.1e} "
        f"{r['naive_per_s']:>8.1f} {r['speedup']:>7.0f}×"
    )


def _measure(
    rules: list[Rule],
    bbc: list[Document],
    feed: list[Document],
    budget: int,
    frequencies: dict[str, float] | None,
) -> dict[str, Any]:
    """``run_size`` in a forked child pinned to one core."""
    ctx = multiprocessing.get_context("fork")
    sample = max(10, min(300, budget // len(rules)))
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, rules, bbc, feed, sample, frequencies))
    proc.start()
    result: dict[str, Any] = recv.recv()
    proc.join()
    return result


if __name__ == "__main__":
    main()
