// sdk_smoke.mjs: the official Daytona TypeScript SDK against daytona-local:
// create, upload, exec, download, the seed's flow (pip install pytest
// langchain-core, pytest over a langchain tool), codeRun, an exec past its timeout, a 429 and
// a missing file as the SDK's typed errors, delete, and the leak check.
import {
  Daytona,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaTimeoutError,
  Image,
} from '@daytonaio/sdk';

const apiUrl = process.env.DAYTONA_API_URL;
const apiKey = process.env.DAYTONA_API_KEY;
if (!apiUrl || !apiKey) {
  console.error('[sdk] DAYTONA_API_URL and DAYTONA_API_KEY must be set');
  process.exit(2);
}
const base = apiUrl.replace(/\/api\/?$/, '');

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`[sdk] ok: ${what}`);
}

async function stats() {
  const res = await fetch(`${base}/_local/stats`);
  return res.json();
}

async function main() {
  const daytona = new Daytona({ apiKey, apiUrl, useDeprecatedPolling: true });
  const sandbox = await daytona.create({
    language: 'python',
    labels: { purpose: 'sdk-smoke' },
    envVars: { SMOKE: '1' },
  });
  let deleted = false;
  try {
    check(sandbox.id && sandbox.state === 'started', `created ${sandbox.id}, state started`);

    const script = 'import os\nprint("hello from sandbox", os.environ.get("SMOKE"))\n' +
      'open("hello_out.txt", "w").write("written by hello.py\\n")\n';
    await sandbox.fs.uploadFile(Buffer.from(script), 'work/hello.py');
    console.log('[sdk] uploaded work/hello.py');

    const r = await sandbox.process.executeCommand('cd work && python3 hello.py && echo oops >&2');
    check(r.exitCode === 0, `exec exitCode 0 (got ${r.exitCode})`);
    check(r.result.includes('hello from sandbox 1') && r.result.includes('oops'),
      `exec output merged: ${JSON.stringify(r.result)}`);

    const r3 = await sandbox.process.executeCommand('exit 3');
    check(r3.exitCode === 3, `exec exit 3 reported (got ${r3.exitCode})`);

    const out = await sandbox.fs.downloadFile('work/hello_out.txt');
    check(out.toString() === 'written by hello.py\n', `download content ${JSON.stringify(out.toString())}`);

    let missing = null;
    try {
      await sandbox.fs.downloadFile('work/does-not-exist.txt');
    } catch (e) {
      missing = e;
    }
    check(missing instanceof DaytonaNotFoundError, `missing file -> DaytonaNotFoundError (${missing?.constructor?.name})`);

    // The seed's flow: pip install pytest langchain-core in the sandbox, then
    // pytest over a langchain_core @tool (run.sh sets SDK_PYPI=1 where the
    // package index can be reached).
    if (process.env.SDK_PYPI === '1') {
      const tool = 'from langchain_core.tools import tool\n\n@tool\n' +
        'def slugify(text: str) -> str:\n    """Lower-case words joined by dashes."""\n' +
        '    return "-".join(text.lower().split())\n';
      const tests = 'from tool import slugify\n\ndef test_slugify():\n' +
        '    assert slugify.invoke({"text": "Hello  World"}) == "hello-world"\n\n' +
        'def test_is_tool():\n    assert slugify.name == "slugify"\n';
      await sandbox.fs.uploadFile(Buffer.from(tool), 'seed/tool.py');
      await sandbox.fs.uploadFile(Buffer.from(tests), 'seed/test_tool.py');
      const pip = await sandbox.process.executeCommand('pip install -q pytest langchain-core', undefined, undefined, 300);
      check(pip.exitCode === 0, `pip install pytest langchain-core (${JSON.stringify(pip.result.slice(-300))})`);
      const t = await sandbox.process.executeCommand('python3 -m pytest -q -p no:cacheprovider', 'seed', undefined, 120);
      check(t.exitCode === 0 && t.result.includes('2 passed'),
        `pytest over a langchain_core tool: 2 passed (${JSON.stringify(t.result.slice(-300))})`);
    } else {
      console.log('[sdk] skipped the pip install of pytest and langchain-core: the package index cannot be reached');
    }

    const cr = await sandbox.process.codeRun('print(6 * 7)');
    check(cr.exitCode === 0 && cr.result === '42\n', `codeRun 42 (got ${JSON.stringify(cr.result)})`);

    const t0 = Date.now();
    let timeoutErr = null;
    try {
      await sandbox.process.executeCommand('sleep 30', undefined, undefined, 1);
    } catch (e) {
      timeoutErr = e;
    }
    check(timeoutErr instanceof DaytonaTimeoutError,
      `exec past its timeout -> ${timeoutErr?.constructor?.name} (${timeoutErr?.message})`);
    check(Date.now() - t0 < 20000, 'the timeout fired well before the command would have ended');

    // A queued 429 on create reaches the caller as DaytonaRateLimitError.
    await fetch(`${base}/_local/faults`, {
      method: 'POST',
      body: JSON.stringify({ next: [{ path_prefix: '/api/sandbox', method: 'POST', status: 429, retry_after: 3 }] }),
    });
    let limited = null;
    try {
      await daytona.create({ language: 'python' });
    } catch (e) {
      limited = e;
    }
    check(limited instanceof DaytonaRateLimitError &&
      String(limited.headers?.['retry-after-sandbox-create']) === '3',
      `create under a 429 -> DaytonaRateLimitError with retry-after-sandbox-create (${limited?.constructor?.name})`);

    await sandbox.delete();
    deleted = true;
    console.log(`[sdk] deleted ${sandbox.id}`);
  } finally {
    if (!deleted) await sandbox.delete().catch(() => {});
  }
  if (process.env.SDK_PIP_INDEX_URL) await snapshotSmoke(daytona);
  const s = await stats();
  check(s.live === 0, `stats live == 0 (got ${s.live})`);
  console.log('[sdk] RESULT: OK');
}

// Snapshots (issue 12): Image.debianSlim().pipInstall() built by daytona-local
// from a local package index (run.sh serves it), a sandbox created from it
// imports the package without pip, a Dockerfile outside daytona-local's subset
// is a clear 400, and the snapshot is deleted.
async function snapshotSmoke(daytona) {
  const image = Image.debianSlim('3.12').pipInstall(['atc-sdk-demo'],
    { indexUrl: process.env.SDK_PIP_INDEX_URL });
  const snap = await daytona.snapshot.create({ name: 'sdk-smoke-env', image });
  check(snap.state === 'active', `snapshot built from the SDK's Dockerfile (state ${snap.state})`);
  const got = await daytona.snapshot.get('sdk-smoke-env');
  check(got.id === snap.id, 'snapshot.get by name');
  const sb = await daytona.create({ snapshot: 'sdk-smoke-env' });
  try {
    const r = await sb.process.executeCommand(
      'python3 -c "import atc_sdk_demo; print(atc_sdk_demo.who())"');
    check(r.exitCode === 0 && r.result.includes('atc-sdk-demo 1.0'),
      `create({snapshot}) sees the package (${JSON.stringify(r.result)})`);
  } finally {
    await sb.delete();
  }
  let refused = null;
  try {
    await daytona.snapshot.create({ name: 'sdk-smoke-bad',
      image: Image.base('python:3.12-slim').runCommands('curl -s x | sh') });
  } catch (e) {
    refused = e;
  }
  check(refused && /daytona-local builds/.test(refused.message),
    `an unsupported Dockerfile is refused (${refused?.message})`);
  await daytona.snapshot.delete(snap);
  const left = (await (await fetch(`${base}/_local/stats`)).json()).snapshots;
  check(left === 0, `snapshot deleted (snapshots ${left})`);
}

main().catch((e) => {
  console.error('[sdk] FAILED:', e?.constructor?.name, e?.message ?? e);
  process.exit(1);
});
