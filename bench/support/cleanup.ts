/**
 * Everything a bench starts (clusters, child processes, temp folders, databases) registers how to undo
 * it here; runBench() undoes it all in reverse order on success, failure, Ctrl-C or SIGTERM.
 */
type Undo = () => Promise<void> | void;

const undos: { what: string; undo: Undo }[] = [];
let cleaning: Promise<void> | undefined;

export function onCleanup(what: string, undo: Undo): () => void {
  const entry = { what, undo };
  undos.push(entry);
  return () => {
    const i = undos.indexOf(entry);
    if (i >= 0) undos.splice(i, 1);
  };
}

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (undos.length) {
      const { what, undo } = undos.pop() as { what: string; undo: Undo };
      try {
        await undo();
      } catch (error) {
        console.error(`cleanup of ${what} failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** Runs a bench's main function, then cleans up whatever happened; the exit code says how it went. */
export function runBench(name: string, main: () => Promise<void>): void {
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${name}: ${signal}, cleaning up...`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  const crash = (error: unknown): void => {
    if (interrupted) return; // what breaks while cleaning up after Ctrl-C is no news
    console.error(`\n${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void cleanupAll().finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  void main()
    .then(
      () => 0,
      (error: Error) => {
        if (!interrupted) console.error(`\n${name} FAILED: ${error.stack ?? error.message}`);
        return 1;
      },
    )
    .then(async (code) => {
      await cleanupAll();
      process.exit(interrupted ? 130 : code);
    });
}
