"""asyncio_bench.py: the runtime's benchmark workloads in Python asyncio (a peer).

    python3 asyncio_bench.py WORKLOAD [N [REPS]] [--uvloop]

Same workloads, arguments and output as bench/runtime_bench.c: each prints
"RESULT <name> <median of the rounds> <unit>" on stdout and every round on
stderr. --uvloop runs the same code on uvloop's event loop policy. This file
is a benchmark peer only: the kit itself contains no Python.
"""

import asyncio
import statistics
import sys
import time

MEALS = 100


def rss_bytes():
    """The resident set now, from /proc/self/statm (as the C side reads it)."""
    import os

    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def report(name, samples, unit):
    rounds = " ".join(f"{s:.4g}" for s in samples)
    print(f"{name} rounds ({unit}): {rounds}", file=sys.stderr)
    print(f"RESULT {name} {statistics.median(samples):.6g} {unit}", flush=True)


async def handoff_queue(n, reps):
    async def producer(queue):
        for i in range(1, n + 1):
            await queue.put(i)

    async def consumer(queue):
        for i in range(1, n + 1):
            if await queue.get() != i:
                raise RuntimeError("lost or reordered item")

    samples = []
    for _ in range(reps):
        queue = asyncio.Queue(maxsize=1)
        start = time.perf_counter()
        await asyncio.gather(producer(queue), consumer(queue))
        samples.append((time.perf_counter() - start) * 1e9 / n)
    report("handoff-queue", samples, "ns")


async def handoff_event(n, reps):
    async def pinger(ping, pong):
        for _ in range(n):
            ping.set()
            await pong.wait()
            pong.clear()

    async def ponger(ping, pong):
        for _ in range(n):
            await ping.wait()
            ping.clear()
            pong.set()

    samples = []
    for _ in range(reps):
        ping, pong = asyncio.Event(), asyncio.Event()
        start = time.perf_counter()
        first = asyncio.create_task(pinger(ping, pong))
        second = asyncio.create_task(ponger(ping, pong))
        await first
        await second
        samples.append((time.perf_counter() - start) * 1e9 / (2 * n))
    report("handoff-event", samples, "ns")


async def switch(n, reps):
    async def yielder():
        for _ in range(n):
            await asyncio.sleep(0)

    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        a = asyncio.create_task(yielder())
        b = asyncio.create_task(yielder())
        await a
        await b
        samples.append((time.perf_counter() - start) * 1e9 / (2 * n))
    report("switch", samples, "ns")


async def spawn(n, reps):
    async def yield_once():
        await asyncio.sleep(0)

    async def one_round():
        start = time.perf_counter()
        tasks = [asyncio.create_task(yield_once()) for _ in range(n)]
        for task in tasks:
            await task
        return (time.perf_counter() - start) * 1e9 / n

    first = await one_round()
    samples = [await one_round() for _ in range(reps)]
    report("spawn-first", [first], "ns")
    report("spawn", samples, "ns")


async def parked(n, reps):
    go = asyncio.Event()
    counts = {"parked": 0, "woken": 0}

    async def park_on_event():
        counts["parked"] += 1
        await go.wait()
        counts["woken"] += 1

    tasks = [None] * n  # the handle list is not counted as the tasks'
    before = rss_bytes()
    for i in range(n):
        tasks[i] = asyncio.create_task(park_on_event())
    while counts["parked"] < n:
        await asyncio.sleep(0)
    after = rss_bytes()
    go.set()
    for task in tasks:
        await task
    if counts["woken"] != n:
        raise RuntimeError("not every parked task woke")
    print(f"parked: RSS {before / 1048576:.1f} MiB before, "
          f"{after / 1048576:.1f} MiB with {n} parked", file=sys.stderr)
    report("parked-rss", [max(after - before, 0) / n], "bytes")
    print(f"RESULT live-tasks {n} tasks", flush=True)


async def philosophers(n, reps):
    meals_eaten = 0

    async def dine(forks, seat):
        nonlocal meals_eaten
        left, right = seat, (seat + 1) % n
        first, second = forks[min(left, right)], forks[max(left, right)]
        for _ in range(MEALS):
            await asyncio.sleep(0)  # think
            async with first:
                async with second:
                    await asyncio.sleep(0)  # eat
                    meals_eaten += 1

    samples = []
    for _ in range(reps):
        meals_eaten = 0
        forks = [asyncio.Lock() for _ in range(n)]
        start = time.perf_counter()
        tasks = [asyncio.create_task(dine(forks, i)) for i in range(n)]
        for task in tasks:
            await task
        samples.append((time.perf_counter() - start) * 1e3)
        if meals_eaten != n * MEALS:
            raise RuntimeError("meals went missing")
    report("philosophers", samples, "ms")


WORKLOADS = {
    "handoff-queue": (handoff_queue, 1000000, 5),
    "handoff-event": (handoff_event, 1000000, 5),
    "switch": (switch, 1000000, 5),
    "spawn": (spawn, 100000, 5),
    "parked": (parked, 100000, 1),
    "philosophers": (philosophers, 1000, 5),
}


def main(argv):
    use_uvloop = "--uvloop" in argv
    args = [a for a in argv if a != "--uvloop"]
    if not 1 <= len(args) <= 3 or args[0] not in WORKLOADS:
        print("usage: asyncio_bench.py WORKLOAD [N [REPS]] [--uvloop]\n"
              "workloads: " + ", ".join(WORKLOADS), file=sys.stderr)
        return 2
    workload, n, reps = WORKLOADS[args[0]]
    if len(args) > 1:
        n = int(args[1])
    if len(args) > 2:
        reps = int(args[2])
    if use_uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(workload(n, reps))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
