// read from the action's own directory inside the sandbox
module.exports = (s) => s
