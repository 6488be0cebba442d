module.exports = require('./global-hooks.js').setup;
