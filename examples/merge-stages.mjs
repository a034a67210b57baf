// The merge composed from the library's reverse stages, as `batch-explain merge` composes them:
// the dataset's ids and the results' index, each sorted by the hash of the id, merge-joined; the
// rows sorted by where their result lines are, those read and parsed on threads; the outcomes
// sorted back into the dataset's order and spliced into its own bytes. In bounded memory (one
// 16 MiB sort arena, lent to each sort in turn), for a dataset of any size.
//   node examples/merge-stages.mjs dataset.jsonl results-folder merged.jsonl
import { pipeline } from 'node:stream/promises';
import {
  composeStages,
  datasetIdEntries,
  idJoin,
  indexResultEntries,
  mergeJoinEntries,
  PartialFileOutput,
  resolveResults,
  resultSources,
  SortMemory,
  sortEntries,
  spliceIntoDataset,
  writeChunks,
} from 'batch-explain';

const [dataset, resultsDir, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node examples/merge-stages.mjs dataset.jsonl results-folder merged.jsonl');
  process.exit(2);
}
const sources = await resultSources([resultsDir]);
const memory = new SortMemory(16 << 20);
const counts = { duplicateIdRows: 0, extraResults: 0, unmatchedResults: 0 };
const byReason = {};
let rows = 0;
let badLines = 0;
const onBadLines = (n) => (badLines += n);
// Each stage refills what it hands on once the next is asked for: writeChunks copies the bytes out.
const out = new PartialFileOutput(outPath);
try {
  await pipeline(
    datasetIdEntries({ dataset }),
    composeStages(
      sortEntries({ memory }),
      mergeJoinEntries({ right: sortEntries({ memory })(indexResultEntries({ sources, onBadLines })()), join: idJoin(counts, false) }),
      sortEntries({ memory }),
    ),
    composeStages(
      resolveResults({ sources: sources.map((s) => s.path), threads: 2, onBadLines }),
      sortEntries({ memory }),
      spliceIntoDataset({
        dataset,
        onRow: (missing) => {
          rows++;
          if (missing) byReason[missing.reason] = (byReason[missing.reason] ?? 0) + 1;
        },
      }),
    ),
    writeChunks(out),
  );
  await out.close();
} catch (err) {
  await out.discard();
  throw err;
}
const without = Object.entries(byReason).sort().map(([r, n]) => `${r} ${n}`).join(', ');
console.log(`${rows} rows, ${rows - Object.values(byReason).reduce((a, b) => a + b, 0)} explained${without ? `, without: ${without}` : ''}; ${counts.extraResults} extra results, ${counts.unmatchedResults} unmatched, ${badLines} bad lines → ${outPath}`);
