// Runs a plan of akismet-api calls (JSON on stdin) and prints one JSON result per step.
//
// The client is configured only through its documented options (key, blog, lang, charset,
// host, protocol); the plan names the client calls, and the test reads what they returned.
'use strict'
const { AkismetClient } = require('akismet-api')

async function step(client, item) {
  switch (item.call) {
    case 'verifyKey':
      return client.verifyKey()
    case 'checkSpam':
      return client.checkSpam(item.comment)
    case 'submitSpam':
      await client.submitSpam(item.comment)
      return 'submitted'
    case 'submitHam':
      await client.submitHam(item.comment)
      return 'submitted'
    default:
      throw new Error('unknown call ' + item.call)
  }
}

async function main() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const plan = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const results = []
  for (const item of plan.steps) {
    const client = new AkismetClient({ ...plan.client, key: item.key ?? plan.client.key })
    try {
      results.push({ ok: true, value: await step(client, item) })
    } catch (err) {
      results.push({ ok: false, error: String(err && err.message) })
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n')
}

main().catch(err => {
  process.stderr.write(String(err && err.stack) + '\n')
  process.exit(1)
})
