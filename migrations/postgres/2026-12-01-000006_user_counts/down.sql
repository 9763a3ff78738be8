DROP TRIGGER user_counts_update ON users;
DROP TRIGGER user_counts_delete ON users;
DROP TRIGGER user_counts_insert ON users;
DROP FUNCTION user_counts_change();
DROP FUNCTION user_counts_remove();
DROP FUNCTION user_counts_add();
DROP TABLE user_counts;
