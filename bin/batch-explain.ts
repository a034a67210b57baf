#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: V8 otherwise grows the young generation to 16 MB semi-spaces under the
// build's allocation rate (base64 slices), and peak RSS keeps climbing for the first ~20,000 rows;
// with 8 MB it is flat (bench/RESULTS.md). Libraries embedding the stages can pass the same flag.
import { hideBin } from 'yargs/helpers';
import { normalizeFlagNames } from './flags.js';
import { cli } from './cli.js';

await cli(normalizeFlagNames(hideBin(process.argv))).parseAsync();
