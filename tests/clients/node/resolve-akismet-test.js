// Test resolver, loaded with `node --require`: names under akismet.test resolve to 127.0.0.1.
//
// akismet-api puts the key in the host name (`<key>.<host>`), as Akismet's protocol allows,
// and has no option for a proxy or a resolver. Names under the reserved .test domain cannot
// resolve anywhere, so this process alone maps them to the service under test: no change to
// /etc/hosts, no proxy, and every other name goes to the system resolver unchanged.
'use strict'
const dns = require('dns')

const original = dns.lookup
const TEST_DOMAIN = 'akismet.test'

function isTestName(hostname) {
  return hostname === TEST_DOMAIN || hostname.endsWith('.' + TEST_DOMAIN)
}

dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options
    options = {}
  } else if (typeof options === 'number') {
    options = { family: options }
  }
  if (typeof hostname !== 'string' || !isTestName(hostname)) {
    return original.call(dns, hostname, options, callback)
  }
  if (options && options.all) {
    process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }])
  } else {
    process.nextTick(callback, null, '127.0.0.1', 4)
  }
  return {}
}
