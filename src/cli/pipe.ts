// A reader that closes the pipe early (`sxarchive label --json FILE | head -1`) has all it wants:
// the write error that follows is no failure of ours, so every command ends quietly then.
//
// It ends the way every Unix filter does (`yes | head -1`): killed by SIGPIPE, exit status 141,
// which shells do not report. Node ignores SIGPIPE, so the default is restored first. Not
// process.exit(): that tears the process down while labelling workers may be inside a native
// call, which aborts with "terminate called after throwing an instance of 'Napi::Error'".

/**
 * Makes an EPIPE on stdout or stderr end the process at once by SIGPIPE, instead of Node's
 * unhandled 'error' event and its stack trace. Other stream errors are rethrown as before.
 *
 * @example
 * exitQuietlyOnClosedPipe(); // once, before any command writes
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      // Adding and removing a listener puts SIGPIPE back to its default action: terminate.
      const ignore = () => {};
      process.on('SIGPIPE', ignore);
      process.off('SIGPIPE', ignore);
      process.kill(process.pid, 'SIGPIPE');
    });
  }
}
