describe('integration setup', () => {
  it('should provide a migrated PostgreSQL database and a PGlite template', () => {
    expect(process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL).toMatch(/omnigent_test_[0-9a-f]+$/);
    expect(process.env.OMNIGENT_TEST_PGLITE_TEMPLATE).toBeTruthy();
  });
});
