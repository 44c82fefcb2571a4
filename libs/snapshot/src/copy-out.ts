import type { ClientBase, Connection } from 'pg';

/**
 * Runs `COPY ... TO STDOUT` (text format) on `client` and hands each CopyData message (one row and its
 * newline) to `onRow`, which must copy what it keeps: the driver reuses its receive buffer. Resolves
 * with the number of rows.
 */
export function copyOut(client: ClientBase, sql: string, onRow: (row: Buffer) => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let rows = 0;
    let failed = false;
    const submittable = {
      submit: (connection: Connection) => connection.query(sql),
      handleCopyData: (message: { chunk: Buffer }) => {
        if (failed) return;
        rows++;
        try {
          onRow(message.chunk);
        } catch (error) {
          // The rest of the rows still arrive (a COPY cannot be stopped): ignore them, fail at the end.
          failed = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      },
      handleCommandComplete: () => undefined,
      handleEmptyQuery: () => undefined,
      handleError: (error: Error) => {
        failed = true;
        reject(error);
      },
      handleReadyForQuery: () => {
        if (!failed) resolve(rows);
      },
    };
    // The driver calls the handlers a COPY OUT reaches; its types only name `submit`.
    client.query(submittable);
  });
}
