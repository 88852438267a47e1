if (process.env.STATE_from_pre !== 'yes') process.exit(1)
console.log('post sees the state pre saved')
