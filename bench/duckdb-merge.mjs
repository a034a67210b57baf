// The control of bench/merge.mjs: the same join done by DuckDB (@duckdb/node-api, a dev
// dependency of the benchmarks only). Both files read with read_json, the explanation taken out
// of the answer with json_extract_string, a left join on id, in the dataset's order, to JSONL.
//   node bench/duckdb-merge.mjs DATASET RESULTS_GLOB OUTPUT
// DuckDB runs with its defaults (threads: the cores; memory limit: 80% of RAM).
import { DuckDBInstance } from '@duckdb/node-api';

const [dataset, results, output] = process.argv.slice(2);
if (!output) throw new Error('usage: node bench/duckdb-merge.mjs DATASET RESULTS_GLOB OUTPUT');
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
await db.run(`
COPY (
  WITH d AS (SELECT row_number() OVER () AS row, * FROM read_json(${quote(dataset)}, format = 'newline_delimited')),
       r AS (SELECT custom_id AS id,
                    json_extract_string(json_extract_string(response, '$.body.choices[0].message.content'), '$.explanation') AS generated_explanation
             FROM read_json(${quote(results)}, format = 'newline_delimited', columns = {custom_id: 'VARCHAR', response: 'JSON'}))
  SELECT d.* EXCLUDE (row), r.generated_explanation FROM d LEFT JOIN r ON d.id = r.id ORDER BY d.row
) TO ${quote(output)} (FORMAT JSON)`);
db.closeSync();
instance.closeSync();
