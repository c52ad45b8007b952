//! [`Sql`]: a query built at run time, with `$n` placeholders on every
//! backend. sqlx's `QueryBuilder<Any>` writes `?`, which SQLite takes but
//! Postgres does not; `$n` is understood by both. Same shape as
//! `QueryBuilder` (`push`, `push_bind`, `separated`, `push_values`), plus
//! the terminal calls the store uses.

use std::fmt::Write as _;

use sqlx::{
    any::{AnyArguments, AnyRow},
    Any, Arguments, Encode, Executor, FromRow, Type,
};

pub(crate) struct Sql<'a> {
    text: String,
    args: AnyArguments<'a>,
    count: usize,
}

impl<'a> Sql<'a> {
    pub(crate) fn new(init: impl Into<String>) -> Self {
        Sql {
            text: init.into(),
            args: AnyArguments::default(),
            count: 0,
        }
    }

    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub(crate) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        // Encoding into `AnyArguments` only moves the value: it cannot fail
        // for the types the store binds (strings, integers).
        self.args
            .add(value)
            .expect("binding a value to an Any query");
        self.count += 1;
        let _ = write!(self.text, "${}", self.count);
        self
    }

    /// Items separated by `separator`, like `QueryBuilder::separated`.
    pub(crate) fn separated<'s>(&'s mut self, separator: &'static str) -> Separated<'s, 'a> {
        Separated {
            sql: self,
            separator,
            first: true,
        }
    }

    /// `VALUES (…), (…)` for `rows`, each row's binds pushed by `row`.
    pub(crate) fn push_values<I, F>(&mut self, rows: I, mut row: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(Separated<'_, 'a>, I::Item),
    {
        self.push("VALUES ");
        for (i, item) in rows.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    pub(crate) async fn fetch_all<'e, R, E>(self, executor: E) -> Result<Vec<R>, sqlx::Error>
    where
        E: Executor<'e, Database = Any>,
        R: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        sqlx::query_as_with::<_, R, _>(&self.text, self.args)
            .fetch_all(executor)
            .await
    }

    pub(crate) async fn fetch_one<'e, R, E>(self, executor: E) -> Result<R, sqlx::Error>
    where
        E: Executor<'e, Database = Any>,
        R: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        sqlx::query_as_with::<_, R, _>(&self.text, self.args)
            .fetch_one(executor)
            .await
    }

    pub(crate) async fn execute<'e, E>(self, executor: E) -> Result<u64, sqlx::Error>
    where
        E: Executor<'e, Database = Any>,
    {
        Ok(sqlx::query_with(&self.text, self.args)
            .execute(executor)
            .await?
            .rows_affected())
    }
}

pub(crate) struct Separated<'s, 'a> {
    sql: &'s mut Sql<'a>,
    separator: &'static str,
    first: bool,
}

impl<'a> Separated<'_, 'a> {
    pub(crate) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        if !self.first {
            self.sql.push(self.separator);
        }
        self.first = false;
        self.sql.push_bind(value);
        self
    }

    pub(crate) fn push_unseparated(&mut self, sql: &str) -> &mut Self {
        self.sql.push(sql);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut q = Sql::new("SELECT * FROM t WHERE a = ");
        q.push_bind(1_i64).push(" AND b IN (");
        let mut list = q.separated(", ");
        list.push_bind("x").push_bind("y");
        list.push_unseparated(")");
        assert_eq!(q.text, "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)");
        let mut v = Sql::new("INSERT INTO t (a, b) ");
        v.push_values([(1_i64, "p"), (2, "q")], |mut b, (n, s)| {
            b.push_bind(n).push_bind(s);
        });
        assert_eq!(v.text, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
    }
}
