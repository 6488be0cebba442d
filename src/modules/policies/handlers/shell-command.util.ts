/** Words that run the rest of the line as a command (their own flags are skipped). */
const WRAPPERS: Record<string, { flagsWithValue: string[]; positional?: number }> = {
  sudo: { flagsWithValue: ['-u', '-g', '-C', '-D', '-h', '-p', '-U', '-r', '-t'] },
  env: { flagsWithValue: ['-u', '-C', '-S'] },
  nice: { flagsWithValue: ['-n'] },
  nohup: { flagsWithValue: [] },
  timeout: { flagsWithValue: ['-s', '-k', '--signal', '--kill-after'], positional: 1 },
  command: { flagsWithValue: [] },
  exec: { flagsWithValue: ['-a'] },
  time: { flagsWithValue: [] },
  stdbuf: { flagsWithValue: ['-i', '-o', '-e'] },
  xargs: { flagsWithValue: ['-I', '-n', '-P', '-L', '-d', '-E', '-s'] },
};
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh']);
const OPERATORS = new Set([';', '|', '&', '\n', ')']);
// Grouping only at the start of a word: `${HOME}` and `f(x)` stay words.
const GROUPING = new Set(['(', '{', '}']);
const MAX_DEPTH = 4;

/**
 * Splits a shell command line into the simple commands it runs, each as its argv, so a policy
 * sees `git push` in `cd x && sudo env A=1 timeout 5 bash -c 'git push -f'`. Quotes and
 * backslashes are honoured; chains (`; && || | &`), subshell brackets, leading variable
 * assignments, wrappers (sudo, env, timeout, nice, …) and `sh -c '…'` are unwrapped. Not a
 * shell: expansions are left as written, which errs towards matching.
 */
export function shellCommands(line: string, depth = 0): string[][] {
  const commands: string[][] = [];
  let current: string[] = [];
  for (const token of tokenize(line)) {
    if (token.operator) {
      if (current.length) {
        commands.push(current);
      }
      current = [];
    } else {
      current.push(token.word);
    }
  }
  if (current.length) {
    commands.push(current);
  }
  return commands.flatMap((argv) => unwrap(argv, depth));
}

function unwrap(argv: string[], depth: number): string[][] {
  let i = 0;
  while (i < argv.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i])) {
    i++;
  }
  const head = argv[i];
  if (head === undefined) {
    return [];
  }
  const name = basename(head);
  const wrapper = WRAPPERS[name];
  if (wrapper) {
    let j = i + 1;
    while (j < argv.length && argv[j].startsWith('-')) {
      j += wrapper.flagsWithValue.includes(argv[j]) ? 2 : 1;
    }
    while (j < argv.length && name === 'env' && argv[j].includes('=')) {
      j++;
    }
    j += wrapper.positional ?? 0;
    return unwrap(argv.slice(j), depth);
  }
  if (SHELLS.has(name) && depth < MAX_DEPTH) {
    const c = argv.indexOf('-c', i + 1);
    const lc = argv.findIndex((a, k) => k > i && /^-[a-z]*c[a-z]*$/.test(a));
    const at = c >= 0 ? c : lc;
    if (at >= 0 && argv[at + 1] !== undefined) {
      return shellCommands(argv[at + 1], depth + 1);
    }
  }
  return [[name, ...argv.slice(i + 1)]];
}

function basename(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1);
}

function* tokenize(line: string): Generator<{ word: string; operator: boolean }> {
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end < 0 ? line.length : end;
      word += line.slice(i + 1, stop);
      inWord = true;
      i = stop;
    } else if (ch === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) {
          i++;
        }
        word += line[i];
        i++;
      }
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      if (line[i + 1] !== '\n') {
        word += line[i + 1];
        inWord = true;
      }
      i++;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) {
        yield { word, operator: false };
      }
      word = '';
      inWord = false;
    } else if (ch === '(' && inWord && word.endsWith('$')) {
      // `$(…)`: a command substitution runs a command of its own.
      word = word.slice(0, -1);
      if (word) {
        yield { word, operator: false };
      }
      word = '';
      inWord = false;
      yield { word: ch, operator: true };
    } else if (OPERATORS.has(ch) || (GROUPING.has(ch) && !inWord) || (ch === '#' && !inWord)) {
      if (inWord) {
        yield { word, operator: false };
      }
      word = '';
      inWord = false;
      if (ch === '#') {
        const end = line.indexOf('\n', i);
        i = end < 0 ? line.length : end - 1;
        continue;
      }
      if ((ch === '&' || ch === '|') && line[i + 1] === ch) {
        i++;
      }
      yield { word: ch, operator: true };
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) {
    yield { word, operator: false };
  }
}
