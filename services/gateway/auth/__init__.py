"""Who is asking: accounts (people, signed in with a password and a session
cookie), enrolled devices (a bearer token each), the roles they hold, and the
rule that says which role may do what. The gateway is Serah's identity edge:
credentials never leave it, and no command carries an actor it did not check."""
