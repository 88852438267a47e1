/**
 * The small programs lab places (read-only, at /lab-grading) beside a framework run so
 * that each test's result is written as one JSON line the moment it is known: a pytest
 * plugin, a unittest runner and a node:test reporter. A line per test as it starts and
 * as it ends lets the harness tell, after a run that was killed, which test was running
 * (it alone loses its points) and which are left to run again.
 *
 * Lines: {"event":"collected","tests":[…]}, {"event":"start","name":…},
 * {"event":"result","name","status":"passed|failed|error|skipped|timeout","message","output","ms","code","task"},
 * {"event":"error","message"} when the submission could not be loaded (syntax or import error).
 * Only the harness reads the file (LAB_RESULTS), after every process of the run is gone.
 */

// Shared by the two Python runners: the result file, the per-test alarm, capped output.
const PY_COMMON = String.raw`
import json, os, signal, inspect, textwrap
_out = open(os.environ.get('LAB_RESULTS', '/dev/null'), 'a', buffering=1)
_timeout = float(os.environ.get('LAB_TEST_TIMEOUT', '0') or 0)
_cap = int(os.environ.get('LAB_OUTPUT_CAP', '65536'))
_skip = set(x for x in os.environ.get('LAB_SKIP', '').split('\n') if x)

def _emit(rec):
    _out.write(json.dumps(rec) + '\n')
    _out.flush()

def _capped(s):
    s = s or ''
    return s if len(s) <= _cap else s[:_cap] + '\n[output truncated: %d more characters]' % (len(s) - _cap)

class LabTestTimeout(BaseException):
    """Raised by the per-test alarm; a BaseException so that a bare "except Exception" in the test does not swallow it."""

def _alarm(signum, frame):
    raise LabTestTimeout('the test ran longer than its time limit (%gs)' % _timeout)

def _arm():
    if _timeout > 0:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, _timeout)

def _disarm():
    if _timeout > 0:
        signal.setitimer(signal.ITIMER_REAL, 0)

def _body(fn):
    try:
        lines, _ = inspect.getsourcelines(fn)
    except Exception:
        return None
    src = textwrap.dedent(''.join(lines))
    out = src.split('\n')
    i = 0
    while i < len(out) and not out[i].rstrip().endswith(':'):
        i += 1
    return textwrap.dedent('\n'.join(out[i + 1:])).strip('\n') or None
`

export const PYTEST_PLUGIN = PY_COMMON + String.raw`
import pytest

def _name(item):
    return item.nodeid.split('::', 1)[1].replace('::', '.') if '::' in item.nodeid else item.nodeid

def _task(item):
    m = item.get_closest_marker('task')
    if m is None:
        return None
    v = m.kwargs.get('taskno', m.args[0] if m.args else None)
    return v if isinstance(v, int) else None

def pytest_configure(config):
    config.addinivalue_line('markers', 'task(taskno): the Exercism task a test belongs to')

def pytest_collectreport(report):
    if report.failed:
        text = str(report.longreprtext)
        lines = text.split('\n')
        # the error itself (pytest's "E" lines), after its one-line summary, not pytest's own frames
        said = [l[1:].strip() for l in lines if l.startswith('E ')]
        head = [lines[0]] if lines and not lines[0].startswith(('/', ' ')) and ':' not in lines[0][:3] else []
        _emit({'event': 'error', 'message': '\n'.join(head + said) if said else text})

def _line(item):
    fn = getattr(item, 'function', None)
    try:
        return (item.fspath.strpath, inspect.getsourcelines(fn)[1])
    except Exception:
        return (item.fspath.strpath, 0)

def pytest_collection_modifyitems(session, config, items):
    # in the order the test file gives them (unittest classes are collected sorted by name)
    items.sort(key=_line)
    items[:] = [i for i in items if _name(i) not in _skip]
    _emit({'event': 'collected', 'tests': [_name(i) for i in items]})

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _emit({'event': 'start', 'name': _name(item)})
    item._lab = {'name': _name(item), 'status': 'passed', 'message': None, 'output': '', 'ms': 0, 'code': _body(getattr(item, 'function', None)), 'task': _task(item)}
    yield
    rec = item._lab
    rec['output'] = _capped(rec['output'])
    rec['message'] = _capped(rec['message']) if rec['message'] else None
    _emit(dict(event='result', **rec))

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _arm()
    try:
        yield
    finally:
        _disarm()

def pytest_runtest_logreport(report):
    rec = _current.get(report.nodeid)
    if rec is None:
        return
    rec['ms'] += int(report.duration * 1000)
    text = (report.capstdout or '') + (report.capstderr or '')
    if text and text not in rec['output']:
        rec['output'] += text
    if report.failed:
        if 'LabTestTimeout' in str(report.longreprtext):
            rec['status'], rec['message'] = 'timeout', 'the test ran longer than its time limit (%gs)' % _timeout
        elif report.when == 'call':
            rec['status'], rec['message'] = 'failed', _failure(report)
        elif rec['status'] == 'passed':
            rec['status'], rec['message'] = 'error', '%s failed: %s' % (report.when, _failure(report))
    elif report.skipped and rec['status'] == 'passed':
        rec['status'] = 'skipped'
        rec['message'] = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else 'skipped'

_current = {}

def _failure(report):
    crash = getattr(report.longrepr, 'reprcrash', None)
    # the assertion with pytest's explanation (the "E" lines), not the whole traceback
    lines = [l[1:].strip() if l.startswith('E ') else None for l in str(report.longreprtext).split('\n')]
    explained = '\n'.join(l for l in lines if l)
    if explained:
        return explained
    return crash.message if crash is not None else str(report.longreprtext)

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _current[item.nodeid] = item._lab
`

export const UNITTEST_RUNNER = PY_COMMON + String.raw`
import sys, io, time, unittest, importlib.util, traceback, contextlib

def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t

def _name(t):
    return '%s.%s' % (type(t).__name__, t._testMethodName)

class _CappedIO(io.StringIO):
    """A test's captured output, kept up to the cap: a flood costs no memory, and says it was cut."""
    dropped = 0
    def write(self, s):
        room = _cap - self.tell()
        if room > 0:
            super().write(s[:room])
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)
    def text(self):
        v = self.getvalue()
        return v + ('\n[output truncated: %d more characters]' % self.dropped if self.dropped else '')

def main(paths):
    sys.path.insert(0, os.getcwd())
    loader = unittest.TestLoader()
    tests = []
    for p in paths:
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(p))[0], p)
        mod = importlib.util.module_from_spec(spec)
        try:
            sys.modules[spec.name] = mod
            spec.loader.exec_module(mod)
        except BaseException as e:
            # the student's frames and the error itself, not importlib's
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith('/work/')]
            where = ''.join(traceback.format_list(frames))
            _emit({'event': 'error', 'message': (where + ''.join(traceback.format_exception_only(type(e), e))).rstrip()})
            return 1
        for t in _flatten(loader.loadTestsFromModule(mod)):
            if type(t).__name__ == '_FailedTest':
                _emit({'event': 'error', 'message': str(getattr(t, '_exception', 'a test module failed to load'))})
                return 1
            tests.append(t)
    def line(t):
        try:
            return inspect.getsourcelines(getattr(t, t._testMethodName))[1]
        except Exception:
            return 0
    tests.sort(key=line)
    tests = [t for t in tests if _name(t) not in _skip]
    _emit({'event': 'collected', 'tests': [_name(t) for t in tests]})
    for t in tests:
        name = _name(t)
        _emit({'event': 'start', 'name': name})
        rec = {'name': name, 'status': 'passed', 'message': None, 'output': '', 'ms': 0, 'code': _body(getattr(t, t._testMethodName, None)), 'task': None}
        result = unittest.TestResult()
        buf = _CappedIO()
        t0 = time.monotonic()
        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                _arm()
                try:
                    t.run(result)
                finally:
                    _disarm()
        except LabTestTimeout:
            rec['status'], rec['message'] = 'timeout', 'the test ran longer than its time limit (%gs)' % _timeout
        rec['ms'] = int((time.monotonic() - t0) * 1000)
        rec['output'] = buf.text()
        for kind, lst in (('failed', result.failures), ('error', result.errors)):
            if lst and rec['status'] == 'passed':
                tb = lst[0][1]
                if 'LabTestTimeout' in tb:
                    rec['status'], rec['message'] = 'timeout', 'the test ran longer than its time limit (%gs)' % _timeout
                else:
                    last = [l for l in tb.strip().split('\n') if l and not l.startswith(' ')]
                    rec['status'] = kind
                    rec['message'] = _capped(last[-1] if kind == 'failed' and last else tb.strip().split('\n')[-1] if kind == 'failed' else '\n'.join(tb.strip().split('\n')[-3:]))
        if result.skipped and rec['status'] == 'passed':
            rec['status'], rec['message'] = 'skipped', result.skipped[0][1]
        if result.expectedFailures and rec['status'] == 'passed':
            rec['message'] = 'expected failure'
        if result.unexpectedSuccesses:
            rec['status'], rec['message'] = 'failed', 'unexpected success'
        _emit(dict(event='result', **rec))
    return 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
`

/** node --test --test-reporter=/lab-grading/node-reporter.mjs: events in, JSON lines out. */
export const NODE_REPORTER = String.raw`
import {appendFileSync} from 'node:fs'
const file = process.env.LAB_RESULTS || '/dev/null'
const cap = Number(process.env.LAB_OUTPUT_CAP || 65536)
const capped = (s) => (s.length <= cap ? s : s.slice(0, cap) + '\n[output truncated: ' + (s.length - cap) + ' more characters]')
const emit = (r) => appendFileSync(file, JSON.stringify(r) + '\n')
const message = (err) => {
  const e = err && err.cause ? err.cause : err
  if (!e) return 'failed'
  if (e.code === 'ERR_TEST_FAILURE' && e.failureType === 'testTimeoutFailure') return e.message
  return String(e.message || e).split('\n').slice(0, 40).join('\n')
}
export default async function* reporter(source) {
  let output = ''
  for await (const ev of source) {
    const d = ev.data || {}
    if (ev.type === 'test:stdout' || ev.type === 'test:stderr') output += d.message
    else if (ev.type === 'test:start' && d.nesting === 0) emit({event: 'start', name: d.name})
    else if ((ev.type === 'test:pass' || ev.type === 'test:fail') && d.nesting === 0) {
      const err = d.details && d.details.error
      const cause = err && err.cause
      const fileFailed = err && err.failureType === 'testCodeFailure' && d.file && d.name === d.file
      if (fileFailed) {
        const text = String((cause && (cause.stack || cause.message)) || err.message).replace(/^test failed\n?/, '')
        emit({event: 'error', message: capped([text, output].filter(Boolean).join('\n'))})
        output = ''
        continue
      }
      if (d.file && d.name === d.file) {
        // the file's own process was stopped (its timeout): the test it was in is not known here
        emit({event: 'stopped', message: capped(message(err))})
        output = ''
        continue
      }
      const timedOut = err && err.failureType === 'testTimeoutFailure'
      const skipped = d.skip !== undefined || d.todo !== undefined
      emit({event: 'result', name: d.name, status: ev.type === 'test:pass' ? (skipped ? 'skipped' : 'passed') : timedOut ? 'timeout' : 'failed', message: ev.type === 'test:fail' ? capped(message(err)) : null, output: capped(output), ms: Math.round((d.details && d.details.duration_ms) || 0), code: null, task: null})
      output = ''
    }
  }
}
`

export const PYTEST_INI = '[pytest]\naddopts = -p no:cacheprovider\n'
