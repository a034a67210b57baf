/**
 * The layers of ../ARCHITECTURE.md as rules: each layer imports only the layers below it.
 * bin → src/index.ts → src/viewer → src/pipeline → src/stages, src/server → src/batch-api
 * → src/core/<subsystem> → src/types.ts, src/errors.ts. Checked on every test run by
 * test/architecture/layers.test.ts (and by hand: `npx depcruise src bin`).
 */
const above = (...layers) => `^(${layers.join('|')})`;
const BIN = 'bin/';
const INDEX = 'src/index\\.ts$';
const VIEWER = 'src/viewer/';
const PIPELINE = 'src/pipeline/';
const STAGES = 'src/stages/';
const SERVER = 'src/server/';
const BATCH_API = 'src/batch-api/';
const CORE = 'src/core/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports: cut it by moving the shared part (often a type) into a file both import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-up',
      severity: 'error',
      comment: 'src/core knows no streams and no wiring: it imports only other cores, types.ts and errors.ts.',
      from: { path: `^${CORE}` },
      to: { path: above(BIN, INDEX, VIEWER, PIPELINE, STAGES, SERVER, BATCH_API) },
    },
    {
      name: 'batch-api-imports-up',
      severity: 'error',
      comment: "src/batch-api (the job's client side) imports only src/core and below.",
      from: { path: `^${BATCH_API}` },
      to: { path: above(BIN, INDEX, VIEWER, PIPELINE, STAGES, SERVER) },
    },
    {
      name: 'stage-or-server-imports-up',
      severity: 'error',
      comment: 'A stage or the local server imports src/batch-api, src/core and below, never the wiring: what it needs from above comes in its options.',
      from: { path: `^(${STAGES}|${SERVER})` },
      to: { path: above(BIN, INDEX, VIEWER, PIPELINE) },
    },
    {
      name: 'pipeline-imports-up',
      severity: 'error',
      comment: 'src/pipeline wires stages; the CLI, the viewer and the library entry sit above it.',
      from: { path: `^${PIPELINE}` },
      to: { path: above(BIN, INDEX, VIEWER) },
    },
    {
      name: 'viewer-imports-up',
      severity: 'error',
      from: { path: `^${VIEWER}` },
      to: { path: above(BIN, INDEX) },
    },
    {
      name: 'library-imports-cli',
      severity: 'error',
      comment: 'The library (src/) never imports the CLI (bin/).',
      from: { path: '^src/' },
      to: { path: `^${BIN}` },
    },
    {
      name: 'base-imports-up',
      severity: 'error',
      comment: 'types.ts and errors.ts are the floor: they import only each other.',
      from: { path: '^src/(types|errors)\\.ts$' },
      to: { path: '^(src/|bin/)', pathNot: '^src/(types|errors)\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-dependency-at-runtime',
      severity: 'error',
      comment: 'What src/ and bin/ import at run time must be a dependency, not a devDependency: a user installs only the former.',
      from: { path: '^(src|bin)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // TypeScript 7 has no JS compiler API for dependency-cruiser 17: swc parses the sources.
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
  },
};
