//! CSV imports: every bad row is reported by line, and nothing is written unless all rows are
//! good (or bad rows are explicitly skipped).

use mentortrack::import::{self, ImportError};
use mentortrack_tests::{TestApp, engine_tests};

const FACILITIES: &str = "code,name,level,parent_code,facility_type
KH,Cambodia,country,,
KH-RTK,Ratanak Kiri,province,KH,
KH-RTK-OD1,Banlung Operational District,district,KH-RTK,
KH-RTK-RH,Banlung Referral Hospital,facility,KH-RTK-OD1,hospital
KH-RTK-HC1,មណ្ឌលសុខភាព លំផាត់,facility,KH-RTK-OD1,health_centre
";

async fn facilities_import_all_or_nothing(app: TestApp) {
    let bad = format!(
        "{FACILITIES}KH-RTK-HC2,,facility,KH-RTK-OD1,health_centre\nKH-RTK-HC3,Veun Sai,facility,NOPE,health_centre\nKH-RTK-HC1,Duplicate,facility,KH-RTK-OD1,clinic\n"
    );
    let before = app.count("org_units").await;
    let err = import::facilities(&app.db, bad.as_bytes(), false, false)
        .await
        .unwrap_err();
    let ImportError::BadRows(rows) = err else {
        panic!("expected bad rows, got {err}")
    };
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [7, 8, 9]);
    assert_eq!(rows[0].errors[0].field, "name");
    assert_eq!(rows[1].errors[0].field, "parent");
    let fields: Vec<&str> = rows[2].errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["facility_type"], "{rows:?}");
    assert_eq!(
        app.count("org_units").await,
        before,
        "nothing imported when a row is bad"
    );

    let report = import::facilities(&app.db, bad.as_bytes(), true, false)
        .await
        .unwrap();
    assert_eq!(report.imported, 5);
    assert_eq!(report.skipped.len(), 3);
    let path: String = sqlx::query_scalar("SELECT path FROM org_units WHERE code = 'KH-RTK-HC1'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        path.matches('/').count(),
        5,
        "facility path has four ancestors-or-self: {path}"
    );
    let name: String = sqlx::query_scalar("SELECT name FROM org_units WHERE code = 'KH-RTK-HC1'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(name, "មណ្ឌលសុខភាព លំផាត់");
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'org_unit'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(audited, 5);

    // Importing the same file again: every row is now a duplicate.
    let again = import::facilities(&app.db, FACILITIES.as_bytes(), false, false)
        .await
        .unwrap_err();
    let ImportError::BadRows(rows) = again else {
        panic!()
    };
    assert_eq!(rows.len(), 5);
}

async fn providers_import(app: TestApp) {
    let f = app.seed().await;
    let good = format!(
        "code,name,cadre,facility_code,sex,phone\nRAM-101,Ingabire Josiane,midwife,{fa},female,+250788111222\nRAM-102,Habimana Jean,nurse,{fa},male,\n",
        fa = f.a.facility.code
    );
    let bad = format!(
        "{good}RAM-101,Twin,midwife,{fa},female,\nRAM-103,Nobody,wizard,{fa},,\nRAM-104,Nowhere,nurse,NO-SUCH,,\nRAM-105,District,nurse,{d},,\n",
        fa = f.a.facility.code,
        d = f.district.code
    );
    let before = app.count("providers").await;
    let Err(ImportError::BadRows(rows)) =
        import::providers(&app.db, "RAM", bad.as_bytes(), false, false).await
    else {
        panic!("bad rows expected")
    };
    let summary: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r.line, r.errors[0].field.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (4, "code"),
            (5, "cadre"),
            (6, "facility_code"),
            (7, "facility_code")
        ]
    );
    assert_eq!(app.count("providers").await, before);

    let report = import::providers(&app.db, "RAM", good.as_bytes(), false, false)
        .await
        .unwrap();
    assert_eq!(report.imported, 2);
    assert_eq!(app.count("providers").await, before + 2);
    let org: i64 =
        sqlx::query_scalar("SELECT organisation_id FROM providers WHERE code = 'RAM-102'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(org, f.a.org.id);

    assert!(
        import::providers(&app.db, "NOPE", good.as_bytes(), false, false)
            .await
            .is_err()
    );
}

engine_tests! {
    async fn facilities(app) { facilities_import_all_or_nothing(app).await }
    async fn providers(app) { providers_import(app).await }
}
