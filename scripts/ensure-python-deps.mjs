// Makes sure the Python packages the lenient-client tests drive are there: httpx-sse (with httpx),
// installed with pip into .tmp/python of this repository (no system or user site touched). The
// conformance suite's httpx-sse driver runs `python3` with that folder on PYTHONPATH.
// Run: node scripts/ensure-python-deps.mjs
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** pip requirement → the module that proves it is importable. */
export const PYTHON_PACKAGES = { 'httpx==0.28.1': 'httpx', 'httpx-sse==0.4.3': 'httpx_sse' };
export const PYTHON_DEPS_DIR = join(new URL('..', import.meta.url).pathname, '.tmp', 'python');
const python = process.env.PYTHON ?? 'python3';

function importable() {
  const modules = Object.values(PYTHON_PACKAGES);
  const check = spawnSync(python, ['-c', `import ${modules.join(', ')}`], {
    env: { ...process.env, PYTHONPATH: PYTHON_DEPS_DIR },
    encoding: 'utf8',
  });
  if (check.error) {
    throw new Error(
      `The lenient-client tests need Python 3 (${python}), which is missing (${check.error.message}). ` +
        'Install it (Debian: apt-get install -y python3 python3-pip) or set PYTHON to its path.',
    );
  }
  return check.status === 0;
}

export function ensurePythonDeps() {
  if (importable()) return;
  const requirements = Object.keys(PYTHON_PACKAGES);
  console.log(`=== installing ${requirements.join(' ')} with pip into ${PYTHON_DEPS_DIR}`);
  const install = spawnSync(
    python,
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--upgrade',
      '--target',
      PYTHON_DEPS_DIR,
      ...requirements,
    ],
    { stdio: 'inherit' },
  );
  if (install.status !== 0) {
    throw new Error(
      `pip install ${requirements.join(' ')} failed (exit code ${install.status}); ` +
        `install them by hand: ${python} -m pip install --target ${PYTHON_DEPS_DIR} ${requirements.join(' ')}`,
    );
  }
  if (!importable())
    throw new Error(`pip reported success but ${requirements.join(', ')} still do not import`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensurePythonDeps();
  } catch (error) {
    console.error(String(error instanceof Error ? error.message : error));
    process.exit(1);
  }
}
