/** What the account store and its migrations need of a database, on either back-end. */
export interface Queryable {
  /** One SQL statement with `$1`-style parameters; the same text runs on both back-ends. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'embedded';
  /** Runs `work` on one connection inside BEGIN … COMMIT, rolling back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
