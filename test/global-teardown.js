module.exports = require('./global-hooks.js').teardown;
