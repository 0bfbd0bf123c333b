/**
 * A CommonJS module of the consumer: `require('baton-auth')`, which Node
 * 20.19+ and 22.12+ load (require of an ES module), typechecked as such.
 */
import baton = require('baton-auth');
import express = require('baton-auth/express');

console.log(
  JSON.stringify({ SessionManager: typeof baton.SessionManager, createBaton: typeof express.createBaton }),
);
