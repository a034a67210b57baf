#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=20 --
// --max-semi-space-size=8: V8 otherwise grows the young generation to 16 MB semi-spaces under the
// build's allocation rate (base64 slices), and peak RSS keeps climbing for the first ~20,000 rows;
// with 8 MB it is flat (bench/RESULTS.md). --heap-growing-percent=20: the tokenizer's ~16 MB of
// long-lived ranks let V8 grow the old generation by ~50 MB more before collecting (build peak
// 176-184 MB against 123-129 MB with the flag; bench/RESULTS.md, token estimates). Libraries
// embedding the stages can pass the same flags. The final `--` ends node's own options: Node 20
// takes `--env-file` anywhere on its command line as its own, even after the script (a missing
// file then ended the command with node's message and exit 9, before ours could speak).
import { hideBin } from 'yargs/helpers';
import { normalizeFlagNames } from './flags.js';
import { cli } from './cli.js';

await cli(normalizeFlagNames(hideBin(process.argv))).parseAsync();
