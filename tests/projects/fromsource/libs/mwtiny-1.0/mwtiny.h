int mwtiny_answer(void);
const char *mwtiny_where(void);
