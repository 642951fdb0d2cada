"""Article extraction benchmark: ``monitor``'s extract_page against plain trafilatura.

Two corpora from ``shared/data/articles``:

* scrapinghub-aeb — 181 pages with the human-checked article body: mean token F1 (tokens are
  lower-cased ``\\w+`` runs, F1 on the bag-of-words overlap, as the Article Extraction
  Benchmark computes it);
* trafilatura-eval — 375 pages with snippets that must (``with``) and must not (``without``)
  appear in the text: precision, recall and F1 over all snippets, as trafilatura evaluates.

Each extractor runs in its own fresh process, one after the other, so the speed (pages per
CPU-second on one core) and the peak RSS are its own; ``--repeat`` rounds alternate the two
and keep each one's fastest, which steadies the ratio on a shared machine.
Run: ``python -m bench.extraction``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "articles"
EXTRACTORS = ("trafilatura", "monitor")
WARM_UP = 3
_TOKEN = re.compile(r"\w+")


def token_f1(predicted: str, truth: str) -> float:
    """F1 of the bag-of-words overlap between two texts (lower-cased ``\\w+`` tokens)."""
    pred, true = Counter(_TOKEN.findall(predicted.lower())), Counter(_TOKEN.findall(truth.lower()))
    if not pred or not true:
        return float(pred == true)
    common = sum((pred & true).values())
    if not common:
        return 0.0
    precision, recall = common / sum(pred.values()), common / sum(true.values())
    return 2 * precision * recall / (precision + recall)


def load_aeb(data: Path, limit: int | None = None) -> list[tuple[bytes, str, str]]:
    """(html, url, article body) of the scrapinghub pages, in ground-truth order."""
    root = data / "scrapinghub-aeb"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    items = list(truth.items())[:limit]
    return [
        (
            gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()),
            v["url"],
            v["articleBody"],
        )
        for key, v in items
    ]


def load_snippets(
    data: Path, limit: int | None = None
) -> list[tuple[bytes, str, list[str], list[str]]]:
    """(html, url, with-snippets, without-snippets) of the trafilatura evaluation pages."""
    root = data / "trafilatura-eval"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        (gzip.decompress((root / v["file"]).read_bytes()), url, v["with"], v["without"])
        for url, v in list(truth.items())[:limit]
    ]


def extractor(name: str) -> Callable[[bytes, str], str]:
    """A function html, url -> text for the named extractor ("" when it finds nothing)."""
    if name == "trafilatura":
        import trafilatura

        def plain(html: bytes, url: str) -> str:
            return trafilatura.extract(html) or ""

        return plain

    from monitor.articles.extract import extract_page
    from monitor.errors import ExtractError

    def ours(html: bytes, url: str) -> str:
        try:
            return extract_page(html, url).text
        except ExtractError:
            return ""

    return ours


@dataclass(frozen=True)
class Run:
    """What one extractor did over one corpus."""

    texts: list[str]
    cpu_seconds: float
    peak_rss_mib: float

    @property
    def pages_per_cpu_second(self) -> float:
        return len(self.texts) / self.cpu_seconds if self.cpu_seconds else 0.0


def _run(name: str, pages: list[tuple[bytes, str]]) -> Run:
    extract = extractor(name)
    for html, url in pages[:WARM_UP]:  # lazy imports and caches: measure the steady state
        extract(html, url)
    start = time.process_time()
    texts = [extract(html, url) for html, url in pages]
    cpu = time.process_time() - start
    return Run(texts, cpu, _peak_rss_mib())


def _peak_rss_mib() -> float:
    """Peak RSS of this process image: VmHWM on Linux, because ``ru_maxrss`` survives exec and
    so counts the parent's memory at fork."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(name: str, pages: list[tuple[bytes, str]]) -> Run:
    """Run one extractor over ``pages`` in a fresh process (clean timing and peak RSS)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_run, name, pages).result()


def snippet_scores(
    texts: Iterable[str], expected: Iterable[tuple[list[str], list[str]]]
) -> tuple[float, float, float]:
    """Precision, recall and F1 over all with/without snippets (trafilatura's evaluation)."""
    tp = fn = fp = 0
    for text, (present, absent) in zip(texts, expected, strict=True):
        flat = " ".join(text.split())
        tp += sum(" ".join(s.split()) in flat for s in present)
        fn += sum(" ".join(s.split()) not in flat for s in present)
        fp += sum(" ".join(s.split()) in flat for s in absent)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main(argv: list[str] | None = None) -> None:
    """Run both corpora with both extractors and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data/articles")
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each corpus")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds, alternating the extractors; best time kept"
    )
    args = parser.parse_args(argv)

    aeb = load_aeb(args.data, args.limit)
    snippets = load_snippets(args.data, args.limit)
    print(f"scrapinghub-aeb: {len(aeb)} pages; trafilatura-eval: {len(snippets)} pages")
    print(f"{args.repeat} rounds alternating the extractors; the fastest round counts\n")
    runs: dict[str, tuple[Run, Run]] = {}
    for _ in range(max(args.repeat, 1)):
        for name in EXTRACTORS:
            pair = (
                run_isolated(name, [(html, url) for html, url, _ in aeb]),
                run_isolated(name, [(html, url) for html, url, _, _ in snippets]),
            )
            best = runs.get(name, pair)
            runs[name] = (
                min(best[0], pair[0], key=lambda r: r.cpu_seconds),
                min(best[1], pair[1], key=lambda r: r.cpu_seconds),
            )
    header = f"{'extractor':<12} {'AEB F1':>7} {'pages/s':>8} {'RSS MiB':>8}"
    print(header + f" {'snip P':>7} {'snip R':>7} {'snip F1':>7} {'pages/s':>8}")
    results: dict[str, tuple[float, float, float, float]] = {}
    for name, (run, snip) in runs.items():
        f1 = sum(token_f1(t, body) for t, (_, _, body) in zip(run.texts, aeb, strict=True))
        f1 /= len(aeb)
        p, r, sf1 = snippet_scores(snip.texts, [(w, wo) for _, _, w, wo in snippets])
        results[name] = (f1, run.pages_per_cpu_second, sf1, snip.pages_per_cpu_second)
        print(
            f"{name:<12} {f1:7.4f} {run.pages_per_cpu_second:8.1f} {run.peak_rss_mib:8.0f}"
            f" {p:7.4f} {r:7.4f} {sf1:7.4f} {snip.pages_per_cpu_second:8.1f}"
        )
    base, ours = results["trafilatura"], results["monitor"]
    print(
        f"\nmonitor vs trafilatura: AEB F1 {ours[0] - base[0]:+.4f}, "
        f"time per page ×{base[1] / ours[1]:.2f}; snippet F1 {ours[2] - base[2]:+.4f}, "
        f"time per page ×{base[3] / ours[3]:.2f}  (goal: AEB F1 ≥ +0, time ≤ ×1.5)"
    )


if __name__ == "__main__":
    main()
