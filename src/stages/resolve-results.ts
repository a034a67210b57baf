import { closeSync, openSync, readSync } from 'node:fs';
import { resultFromLine, type ResultRecord, type ResultSource } from './read-results.js';
import type { ResultPointer } from './index-results.js';

/**
 * Reads result lines back by their pointers, synchronously (one `pread` each: cheaper than a
 * thread hand-off for a 1 KB line in the page cache), and turns them into result records. Open
 * files are kept until `close()`.
 */
export class ResultReader {
  readonly #sources: ResultSource[];
  readonly #fds = new Map<number, number>();
  readonly #field: string | undefined;
  #buffer = Buffer.allocUnsafe(64 * 1024);

  constructor(sources: ResultSource[], field?: string) {
    this.#sources = sources;
    this.#field = field;
  }

  read(pointer: Pick<ResultPointer, 'src' | 'offset' | 'length' | 'order'>): ResultRecord | { bad: string; source: string } {
    const src = this.#sources[pointer.src]!;
    let fd = this.#fds.get(pointer.src);
    if (fd === undefined) this.#fds.set(pointer.src, (fd = openSync(src.path, 'r')));
    if (this.#buffer.length < pointer.length) this.#buffer = Buffer.allocUnsafe(pointer.length);
    let got = 0;
    while (got < pointer.length) {
      const n = readSync(fd, this.#buffer, got, pointer.length - got, pointer.offset + got);
      if (n === 0) break;
      got += n;
    }
    const source = `${src.path}@${pointer.offset}`;
    if (got < pointer.length) return { bad: 'the file changed since it was indexed', source };
    const r = resultFromLine(this.#buffer.toString('utf8', 0, pointer.length), { source, order: pointer.order }, this.#field);
    return 'bad' in r ? { bad: r.bad, source } : r;
  }

  close(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }
}
