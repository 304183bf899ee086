import { Command } from 'commander';

/** Runs `w2sd <args>` in-process through the given registration and returns what it printed on stdout. */
export async function runCommand(register: (program: Command) => unknown, args: string[]): Promise<string> {
  const program = new Command('w2sd').exitOverride();
  register(program);
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'w2sd', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}
