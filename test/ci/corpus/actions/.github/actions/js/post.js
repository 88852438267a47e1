console.log(`post for ${process.env.STATE_started} after main`)
