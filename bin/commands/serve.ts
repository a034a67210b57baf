import type { Argv, CommandModule } from 'yargs';
import { bytesFlag, quietFlag } from '../flags.js';
import { runCommand } from '../run-command.js';
import { BatchExplainError, EXIT } from '../../src/errors.js';
import { say, print } from '../terminal.js';

const flags = {
  port: { type: 'number', default: 8765, describe: 'Port; 0 takes any free port (printed on start)' },
  host: { type: 'string', default: '127.0.0.1', describe: 'Interface to bind; the default keeps the server to this machine' },
  'data-dir': { type: 'string', default: '.batch-explain/local-server', describe: 'Where files and batches are kept (across restarts)' },
  'api-key': { type: 'string', describe: 'Require this key (Authorization: Bearer, or Azure api-key); also $BATCH_EXPLAIN_SERVER_KEY' },
  upstream: { type: 'string', describe: 'Answer with an OpenAI-compatible server instead of the offline responder, e.g. http://127.0.0.1:8000/v1 (vLLM)' },
  'upstream-model': { type: 'string', describe: 'Model name to send upstream (default: the request\'s)' },
  'upstream-concurrency': { type: 'number', default: 4, describe: 'Requests in flight to the upstream server' },
  concurrency: { type: 'number', default: 8, describe: 'Lines of a batch answered at once' },
  'max-running-batches': { type: 'number', default: 16, describe: 'Batches processed at once; the others wait their turn' },
  'max-uploads': { type: 'number', default: 32, describe: 'Uploads received at once; the others wait' },
  'max-requests': { type: 'number', describe: 'Requests per batch file (default 50000 on OpenAI paths, 100000 on Azure paths)' },
  'max-file-bytes': bytesFlag('max-file-bytes', 'Largest upload (the 200 MB of a batch input file)', 209_715_200),
  'file-processing-ms': { type: 'number', describe: 'Milliseconds an upload stays pending before it is processed (default 1500 on Azure routes, 0 on /v1)' },
  models: { type: 'string', describe: "Models the /v1 routes know, comma-separated, or 'any' (default: the common batch models; 'any' with --upstream)" },
  deployments: { type: 'string', describe: 'Deployments the Azure routes know, comma-separated (default: any name given)' },
  'clock-scale': { type: 'number', default: 1, describe: "How much faster the server's clock runs (86400: the 24 h window and 30-day expiries pass a day a second)" },
  'max-body-bytes': bytesFlag('max-body-bytes', 'Largest JSON request body', 64 * 1024 * 1024),
  'fault-429': { type: 'number', default: 0, describe: 'Fraction of requests answered 429 with Retry-After' },
  'fault-storm-429': { type: 'number', default: 0, describe: 'The first N requests are all answered 429 (a storm)' },
  'fault-500': { type: 'number', default: 0, describe: 'Fraction of requests answered 500' },
  'fault-502': { type: 'number', default: 0, describe: 'Fraction of requests answered 502' },
  'fault-503': { type: 'number', default: 0, describe: 'Fraction of requests answered 503' },
  'fault-retry-after': { type: 'number', default: 1, describe: 'Seconds in the Retry-After of injected 429s' },
  'fault-slow-ms': { type: 'number', default: 0, describe: 'Delay before answering (every request, or --fault-slow-rate of them)' },
  'fault-slow-rate': { type: 'number', default: 1, describe: 'Fraction of requests delayed by --fault-slow-ms' },
  'fault-reset-uploads': { type: 'number', default: 0, describe: 'Fraction of uploads whose connection is reset halfway' },
  'fault-lose-upload-answers': { type: 'number', default: 0, describe: 'Fraction of uploads stored, then the connection reset before the answer' },
  'fault-reset-downloads': { type: 'number', default: 0, describe: 'Fraction of file downloads whose connection is reset halfway' },
  'fault-routes': { type: 'string', describe: 'Regular expression: HTTP faults only on matching routes (e.g. ^/batches)' },
  'fault-line-failures': { type: 'number', default: 0, describe: 'Fraction of batch lines failing with a 500' },
  'fault-line-delay-ms': { type: 'number', default: 0, describe: 'Time spent on each batch line' },
  'fault-malformed-lines': { type: 'number', default: 0, describe: 'Fraction of output lines written damaged' },
  'fault-drop-lines': { type: 'number', default: 0, describe: 'Fraction of completed lines left out of the output file (shorter than request_counts)' },
  'fault-expire-after': { type: 'number', describe: 'Expire batches after this many lines' },
  'fault-token-limit': { type: 'number', describe: 'Fail batches with token_limit_exceeded above this many enqueued tokens' },
  'fault-token-limit-at': { choices: ['validation', 'create'], default: 'validation', describe: "Where the token limit bites: after validation (OpenAI) or at create, as a 400 (Azure's fail-fast regions)" },
  'fault-seed': { type: 'number', default: 1, describe: 'Seed of the fault generator' },
  quiet: quietFlag,
} as const;

type ServeArgs = {
  port: number;
  host: string;
  'data-dir': string;
  'api-key'?: string;
  upstream?: string;
  'upstream-model'?: string;
  'upstream-concurrency': number;
  concurrency: number;
  'max-running-batches': number;
  'max-uploads': number;
  'max-requests'?: number;
  'max-file-bytes': number;
  'file-processing-ms'?: number;
  models?: string;
  deployments?: string;
  'clock-scale': number;
  'max-body-bytes': number;
  'fault-429': number;
  'fault-storm-429': number;
  'fault-500': number;
  'fault-502': number;
  'fault-503': number;
  'fault-retry-after': number;
  'fault-slow-ms': number;
  'fault-slow-rate': number;
  'fault-reset-uploads': number;
  'fault-lose-upload-answers': number;
  'fault-reset-downloads': number;
  'fault-routes'?: string;
  'fault-line-failures': number;
  'fault-line-delay-ms': number;
  'fault-malformed-lines': number;
  'fault-drop-lines': number;
  'fault-expire-after'?: number;
  'fault-token-limit'?: number;
  'fault-token-limit-at': 'validation' | 'create';
  'fault-seed': number;
  quiet: boolean;
};

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Run the local Batch API server (OpenAI and Azure shapes) until interrupted',
  builder: (y: Argv) =>
    y
      .options(flags)
      .example('$0 serve --port 8765', 'then OPENAI_BASE_URL=http://127.0.0.1:8765/v1')
      .example('$0 serve --upstream http://127.0.0.1:8000/v1', 'batches answered by a local vLLM') as unknown as Argv<ServeArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const apiKey = args['api-key'] ?? process.env.BATCH_EXPLAIN_SERVER_KEY;
      const { startBatchServer } = await import('../../src/server/server.js');
      const { offlineResponder, upstreamResponder } = await import('../../src/server/responders.js');
      const responder = args.upstream
        ? upstreamResponder({
            url: args.upstream,
            concurrency: args['upstream-concurrency'],
            ...(args['upstream-model'] ? { model: args['upstream-model'] } : {}),
            ...(process.env.UPSTREAM_API_KEY ? { apiKey: process.env.UPSTREAM_API_KEY } : {}),
          })
        : offlineResponder();
      const { scaledClock } = await import('../../src/server/clock.js');
      if (!(args['clock-scale'] > 0)) throw new BatchExplainError('E_OPTION', `--clock-scale must be a positive number, got ${args['clock-scale']}`);
      if (args['file-processing-ms'] !== undefined && !(args['file-processing-ms'] >= 0)) throw new BatchExplainError('E_OPTION', `--file-processing-ms must be 0 or more, got ${args['file-processing-ms']}`);
      const list = (v: string | undefined) => v?.split(',').map((x) => x.trim()).filter(Boolean);
      const models = args.models === 'any' || (args.models === undefined && args.upstream) ? null : list(args.models);
      const processing = args['file-processing-ms'];
      const server = await startBatchServer({
        ...(models === undefined ? {} : { models }),
        ...(args.deployments ? { deployments: list(args.deployments)! } : {}),
        ...(processing === undefined ? {} : { fileProcessingMs: { openai: processing, azure: processing } }),
        clock: scaledClock(args['clock-scale']),
        dataDir: args['data-dir'],
        host: args.host,
        port: args.port,
        ...(apiKey ? { apiKey } : {}),
        responder,
        concurrency: args.concurrency,
        maxRunningBatches: args['max-running-batches'],
        maxUploads: args['max-uploads'],
        ...(args['max-requests'] === undefined ? {} : { maxRequests: { openai: args['max-requests'], azure: args['max-requests'] } }),
        maxFileBytes: args['max-file-bytes'],
        maxBodyBytes: args['max-body-bytes'],
        faults: {
          rate429: args['fault-429'],
          storm429: args['fault-storm-429'],
          rate500: args['fault-500'],
          rate502: args['fault-502'],
          rate503: args['fault-503'],
          retryAfterSeconds: args['fault-retry-after'],
          slowMs: args['fault-slow-ms'],
          slowRate: args['fault-slow-rate'],
          resetUploads: args['fault-reset-uploads'],
          loseUploadAnswers: args['fault-lose-upload-answers'],
          resetDownloads: args['fault-reset-downloads'],
          ...(args['fault-routes'] ? { routes: args['fault-routes'] } : {}),
          lineFailureRate: args['fault-line-failures'],
          lineDelayMs: args['fault-line-delay-ms'],
          malformedLineRate: args['fault-malformed-lines'],
          dropLineRate: args['fault-drop-lines'],
          ...(args['fault-expire-after'] === undefined ? {} : { expireAfterLines: args['fault-expire-after'] }),
          ...(args['fault-token-limit'] === undefined ? {} : { tokenLimit: args['fault-token-limit'], tokenLimitAt: args['fault-token-limit-at'] }),
          seed: args['fault-seed'],
        },
      });
      // The URL on stdout (for scripts: `url=$(batch-explain serve --port 0 | head -1)`), the rest on stderr.
      print(`${server.url}\n`);
      if (!args.quiet) {
        say(
          `batch-explain serve: listening on ${server.url} (OpenAI: ${server.url}/v1; Azure: ${server.url}/openai/v1/ or ?api-version=…), ` +
            `data in ${args['data-dir']}, answers from the ${responder.name} responder${apiKey ? ', API key required' : ''}\n`,
        );
      }
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      await server.close();
      return EXIT.OK;
    }),
};
