/**
 * Fault injection for crash tests: when CORDON_FAULT names this point, the process kills itself
 * with SIGKILL right there, as a power cut or an OOM kill would. Unset in normal use.
 */
export function faultPoint(name: string): void {
  if (process.env['CORDON_FAULT'] === name) process.kill(process.pid, 'SIGKILL');
}
