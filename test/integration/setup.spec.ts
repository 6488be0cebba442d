describe('integration setup', () => {
  it('should provide a migrated PostgreSQL database and a migrated embedded template', () => {
    expect(process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL).toMatch(/omnigent_test_[0-9a-f]+$/);
    expect(process.env.OMNIGENT_TEST_EMBEDDED_TEMPLATE).toBeTruthy();
  });
});
