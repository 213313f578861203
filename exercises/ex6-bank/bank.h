/* bank.h: ex6-bank's bank: accounts, amounts in cents, and its two slow
 * services (kit-owned; do not edit).
 *
 * Amounts are integer cents (int64_t): 12.34 is 1234. Never a double: 0.29
 * has no exact binary value, and 0.29 * 100 is 28.999999999999996.
 *
 * Errors follow the runtime's convention: 0 is success, a negative number
 * an error. The bank's own codes are the BANK_E* below, far from libuv's
 * UV_E* codes, which can come back too (UV_ECANCELED when the task is
 * cancelled while it waits). bank_strerror() and bank_error_name() know
 * both kinds.
 */
#ifndef BANK_H
#define BANK_H

#include <async.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deposits of more than 10000.00 are reported to the anti-money-laundering
 * office (10000.00 itself is not). */
#define BANK_AML_THRESHOLD INT64_C(1000000)
/* The most one withdrawal may take: 2000.00 (this amount is allowed). */
#define BANK_WITHDRAWAL_LIMIT INT64_C(200000)
/* The largest amount there is: 1000000000.00. */
#define BANK_MAX_AMOUNT INT64_C(100000000000)

/* How long the services take, in seconds (of virtual time in check mode). */
#define BANK_AML_SECONDS 0.2
#define BANK_TAN_SECONDS 0.1

#define BANK_EAMOUNT (-6001) /* not an amount: <= 0, sub-cent, garbage... */
#define BANK_EFUNDS (-6002)  /* insufficient funds */
#define BANK_EDENIED (-6003) /* the customer did not confirm the TAN */
#define BANK_ELIMIT (-6004)  /* over the per-withdrawal limit */

/* A sentence for a BANK_E* code, or async_strerror's for any other. */
const char *bank_strerror(int error);
/* "BANK_EFUNDS", "UV_ECANCELED", "0"...: for messages about return codes. */
const char *bank_error_name(int error);

typedef struct bank bank_t;

typedef struct account {
  /* read-only */
  int id;        /* 1, 2, 3... in the order opened: a global order */
  char name[24]; /* "account 1" */
  bank_t *bank;
  /* public: yours to use; bank_open_account initialised it (and named it
   * "the lock of account N" for check mode's reports). The bank never
   * takes it. */
  async_lock_t lock;
  /* private: use account_balance() and account_set_balance() */
  async_shared_t balance;
  char balance_name[40];
} account_t;

/* The balance, in cents. Check mode watches every read and write: a write
 * computed from a read made before an await, during which another task
 * wrote the balance, is reported as a lost update, with both tasks and the
 * lines in your file. (Macros, so that the lines are yours.) */
#define account_balance(account) async_shared_read(&(account)->balance)
#define account_set_balance(account, cents)                                    \
  async_shared_write(&(account)->balance, (cents))

/* One report the anti-money-laundering office received. */
typedef struct bank_report {
  int account_id;
  int64_t cents;
  double time; /* async_time() when it was filed */
} bank_report_t;

struct bank {
  /* public: bank_init sets the defaults; change them before operating */
  double aml_seconds;      /* how long a report takes: BANK_AML_SECONDS */
  double tan_seconds;      /* how long a TAN takes: BANK_TAN_SECONDS */
  unsigned deny_tan_every; /* 0: every TAN is confirmed; N: every Nth is
                              denied (1: all of them) */
  /* read-only: what the services saw */
  size_t tans_asked;      /* TAN confirmations answered */
  size_t tans_denied;     /* of which denied */
  bank_report_t *reports; /* the AML reports filed, in order */
  size_t report_count;
  size_t account_count;
  /* private */
  size_t report_capacity;
};

/* A bank with the default settings and no account. */
void bank_init(bank_t *bank);
/* Frees what the bank holds (its reports), not the accounts. */
void bank_destroy(bank_t *bank);

/* Opens `account` in `bank` with a balance of opening_cents: it gets the
 * next id and its name. Call it from inside the run (a task), so that
 * check mode knows its lock; the account must stay where it is until the
 * run ends. */
void bank_open_account(bank_t *bank, account_t *account, int64_t opening_cents);

/* Writes cents as "1234.56" (or "-0.50") into text[size]; returns text. */
char *bank_format_amount(int64_t cents, char *text, size_t size);

/* ---- The services: both await, as a real bank's do. ----
 *
 * int bank_report_deposit(account_t *account, int64_t cents);
 *   Blocks for bank->aml_seconds, then files an anti-money-laundering
 *   report of a deposit of `cents` into account. Call it exactly once for
 *   every deposit above BANK_AML_THRESHOLD. Returns 0, or UV_ECANCELED (no
 *   report filed).
 *
 * int bank_confirm_tan(account_t *account, int64_t cents);
 *   Blocks for bank->tan_seconds while the customer confirms, with a TAN,
 *   that `cents` may leave account. Ask before every withdrawal and every
 *   transfer. Returns 0 (confirmed), BANK_EDENIED, or UV_ECANCELED.
 *
 * They are macros so that check mode's reports name the line of your file
 * that waited, not one inside bank.c. Pass plain variables: the arguments
 * are evaluated more than once.
 */
#define bank_report_deposit(account, cents)                                    \
  bank__aml_filed((account), (cents), async_sleep(bank__aml_wait(account)))
#define bank_confirm_tan(account, cents)                                       \
  bank__tan_answer((account), (cents), async_sleep(bank__tan_wait(account)))

/* Private halves of the services above. */
double bank__aml_wait(const account_t *account);
int bank__aml_filed(account_t *account, int64_t cents, int waited);
double bank__tan_wait(const account_t *account);
int bank__tan_answer(account_t *account, int64_t cents, int waited);

#endif /* BANK_H */
