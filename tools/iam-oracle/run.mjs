// Differential-test oracle for latch-iam. Reads the batch cases of
// `latch iam simulate --jsonl` on stdin (one JSON object per line) and prints
// one result per line on stdout, in order, using the public API of
// @cloud-copilot/iam-simulate (AGPL, installed by `npm ci`, run as a
// separate process, never vendored). On stderr it prints one JSON line with
// the evaluation loop's own throughput, excluding Node startup and I/O.
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { readFileSync } from 'node:fs'

const lines = readFileSync(0, 'utf8').split('\n')
if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()

const named = (prefix, policies) =>
  (policies ?? []).map((policy, i) => ({ name: `${prefix}${i}`, policy }))
const levels = (prefix, lv) =>
  (lv ?? []).map((policies, i) => ({
    orgIdentifier: `${prefix}-level${i}`,
    policies: named(`${prefix}${i}_`, policies)
  }))

const sims = lines.map((line) => {
  try {
    const c = JSON.parse(line)
    const r = c.request ?? {}
    const sim = {
      identityPolicies: named('identity', c.identityPolicies),
      serviceControlPolicies: levels('scp', c.scps),
      resourceControlPolicies: levels('rcp', c.rcps),
      resourcePolicy: c.resourcePolicy ?? undefined,
      permissionBoundaryPolicies:
        c.permissionBoundaries && c.permissionBoundaries.length > 0
          ? named('boundary', c.permissionBoundaries)
          : undefined,
      sessionPolicy: c.sessionPolicy ?? undefined,
      request: {
        principal: r.principal,
        action: r.action,
        resource: { resource: r.resource, accountId: r.resourceAccount },
        contextVariables: r.context ?? {}
      }
    }
    return { id: c.id ?? null, sim }
  } catch (e) {
    return { id: null, parseError: String(e) }
  }
})

const out = []
const start = process.hrtime.bigint()
for (const { id, sim, parseError } of sims) {
  if (parseError) {
    out.push({ id, error: parseError })
    continue
  }
  try {
    const res = await runSimulation(sim, {})
    if (res.resultType === 'error') {
      out.push({ id, error: res.errors.message ?? 'error', details: res.errors })
    } else {
      const o = { id, decision: res.overallResult }
      const ignored = res.result?.ignoredContextKeys
      if (ignored && ignored.length > 0) o.ignoredContextKeys = ignored
      out.push(o)
    }
  } catch (e) {
    out.push({ id, error: `exception: ${e}` })
  }
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9
process.stdout.write(out.map((o) => JSON.stringify(o)).join('\n') + (out.length ? '\n' : ''))
process.stderr.write(
  JSON.stringify({ cases: sims.length, seconds, perSecond: sims.length / seconds }) + '\n'
)
