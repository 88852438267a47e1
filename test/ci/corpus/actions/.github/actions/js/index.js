// a JavaScript action without @actions/core: inputs from INPUT_*, outputs to $GITHUB_OUTPUT
const fs = require('node:fs')
const name = process.env.INPUT_NAME
fs.appendFileSync(process.env.GITHUB_OUTPUT, `upper=${name.toUpperCase()}\n`)
console.log(`::notice::js action ran for ${name} as uid ${process.getuid()}`)
