/**
 * Runs a child process's `main`; when it fails, tells the parent over IPC (`{ op: 'fatal' }`, as
 * the server protocols have it) and exits with code 2 once the message is out.
 */
export function runOrReportFatal(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.send?.({
      op: 'fatal',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    setTimeout(() => process.exit(2), 100);
  });
}
