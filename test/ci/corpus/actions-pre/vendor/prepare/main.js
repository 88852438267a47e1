const fs = require('node:fs')
const same = require('./lib.js')
fs.appendFileSync(`${process.env.GITHUB_WORKSPACE}/order.txt`, same(`main-prepare:${process.env.STATE_from_pre}\n`))
