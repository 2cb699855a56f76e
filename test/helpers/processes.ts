// Whether a process is still running, for tests that check what a parent starts and ends.
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
