// a JavaScript action without @actions/core: inputs from INPUT_*, outputs to $GITHUB_OUTPUT,
// state for its post: script to $GITHUB_STATE
const fs = require('node:fs')
const name = process.env.INPUT_NAME
fs.appendFileSync(process.env.GITHUB_OUTPUT, `upper=${name.toUpperCase()}\n`)
fs.appendFileSync(process.env.GITHUB_STATE, `started=${name}\n`)
console.log(`::notice::js action ran for ${name}`)
