#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --expose-gc --max-semi-space-size=8 --heap-growing-percent=20 --
// --max-semi-space-size=8: V8 otherwise grows the young generation to 16 MB semi-spaces under the
// build's allocation rate (base64 slices), and peak RSS keeps climbing for the first ~20,000 rows;
// with 8 MB it is flat (bench/RESULTS.md). --heap-growing-percent=20: the tokenizer's ~16 MB of
// long-lived ranks let V8 grow the old generation by ~50 MB more before collecting (build peak
// 176-184 MB against 123-129 MB with the flag; bench/RESULTS.md, token estimates). Libraries
// embedding the stages can pass the same flags. The final `--` ends node's own options: Node 20
// takes `--env-file` anywhere on its command line as its own, even after the script (a missing
// file then ended the command with node's message and exit 9, before ours could speak).
// MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 (glibc; other C libraries ignore them): buffers
// freed on other threads' arenas, and blocks of 128 kB and more kept in the heap once glibc's
// threshold has risen, stayed resident from one phase of `run` to the next: with two arenas and
// the threshold fixed at its initial value, a 200,000-row `run` peaked ~10 MB lower in both its
// submit and its merge (bench/RESULTS.md, "The whole of `run`: memory by phase"). --expose-gc:
// `run` starts a collection that gives back the heap its build grew before it merges (bin/heap.ts).
import { hideBin } from 'yargs/helpers';
import { normalizeFlagNames } from './flags.js';
import { cli } from './cli.js';

await cli(normalizeFlagNames(hideBin(process.argv))).parseAsync();
