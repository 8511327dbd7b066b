import { spawn, type ChildProcess } from 'node:child_process';
import { cpuTable, groupOf, ticksOf, withCpuProfile } from '../../bench/cpu';

// The benchmark's CPU accounting: which process is which, and the ticks from /proc/<pid>/stat.
describe('CPU by process', () => {
  it('names the processes of the rig by their command lines', () => {
    const cmd = (...argv: string[]) => `${argv.join('\0')}\0`;
    expect(groupOf(1, cmd('/usr/bin/node', '--require', 'tsx/cjs', '/work/main/worker/main.ts'))).toBe('worker');
    expect(groupOf(2, cmd('node', 'dist/worker/main.js'))).toBe('worker');
    expect(groupOf(3, cmd('/usr/bin/node', '--import', 'tsx', '/work/main/api/main.ts'))).toBe('api');
    expect(groupOf(4, cmd('/root/.cache/invoiceflow/temporal-cli/v1.5.1/temporal', 'server', 'start-dev', '--port', '0'))).toBe('temporal');
    expect(groupOf(5, 'postgres: 15/main: postgres invoiceflow_bench 127.0.0.1(40402) SELECT\0')).toBe('postgres');
    expect(groupOf(6, cmd('/usr/lib/postgresql/15/bin/postgres', '-D', '/var/lib/postgresql/15/main'))).toBe('postgres');
    expect(groupOf(process.pid, cmd('/usr/bin/node', 'bench/run.ts'))).toBe('bench');
    expect(groupOf(7, cmd('/usr/bin/chromium', '--headless'))).toBe('other');
  });

  it('reads utime and stime, also when the command name holds spaces and parentheses', () => {
    const fields = ['S', '1', '2', '3', '0', '-1', '4194560', '10', '0', '0', '0', '1234', '56', '0', '0', '20', '0'];
    expect(ticksOf(`42 (node) ${fields.join(' ')}`)).toBe(1290);
    expect(ticksOf(`42 (a (b) c) ${fields.join(' ')}`)).toBe(1290);
  });

  it('counts the CPU a busy child process spends while the measured part runs', async () => {
    // Half a second of the child's own CPU (however busy the machine is), then it says so and stays
    // until killed after the measured part, so its ticks are read at the end.
    const busy =
      'const c = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (c() < 500); console.log("done"); setInterval(() => {}, 1000)';
    let child: ChildProcess | undefined;
    const { cpu } = await withCpuProfile(async () => {
      const started = spawn(process.execPath, ['-e', busy], { stdio: ['ignore', 'pipe', 'inherit'] });
      child = started;
      const done = new Promise<void>((resolve, reject) => {
        started.stdout.on('data', () => resolve());
        started.on('error', reject);
        started.on('exit', () => reject(new Error('the busy child ended early')));
      });
      await Promise.all([done, new Promise((r) => setTimeout(r, 700))]);
    }).finally(() => child?.kill());
    expect(cpu.seconds.other).toBeGreaterThanOrEqual(0.3);
    expect(cpu.wallSeconds).toBeGreaterThanOrEqual(0.69);
    const table = cpuTable([{ name: 'busy child', items: 2, cpu }]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table.split('\n')[2]).toMatch(new RegExp(`^\\| busy child \\| 2 \\| ${cpu.wallSeconds.toFixed(2).replace('.', '\\.')} \\|`));
  }, 30_000);
});
