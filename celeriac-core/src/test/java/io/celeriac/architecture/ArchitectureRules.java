package io.celeriac.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;

import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The architecture rules every module's {@code ArchitectureTest} checks on its own classes (as JobRunr's
 * {@code PackageDependenciesTest}): what a package may depend on, and which library types may appear where users
 * see them. Kept in core's test jar so each module states its rules in a few lines.
 */
public final class ArchitectureRules {
    private ArchitectureRules() {
    }

    /** The module's production classes under {@code io.celeriac}. */
    public static JavaClasses productionClasses(String... packages) {
        return new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS).importPackages(packages);
    }

    /** No cycle between the packages under {@code root} (each direct sub-package a slice). */
    public static void noPackageCycles(JavaClasses classes, String root) {
        slices().matching(root + ".(*)..").should().beFreeOfCycles().check(classes);
    }

    /** Classes in {@code packages} use none of {@code forbidden} (package prefixes, e.g. {@code io.lettuce..}). */
    public static void packagesDependOnNone(JavaClasses classes, String packages, String... forbidden) {
        classes().that().resideInAPackage(packages).should().onlyDependOnClassesThat(
                DescribedPredicate.not(com.tngtech.archunit.core.domain.JavaClass.Predicates
                        .resideInAnyPackage(forbidden))).check(classes);
    }

    /**
     * No type from {@code forbidden} packages appears in a public signature (public method or constructor parameter,
     * return type or generic argument, public field) of a public class: users must not need those libraries to call
     * us, and we stay free to change them.
     */
    public static void noLibraryTypesInPublicApi(JavaClasses classes, String... forbidden) {
        classes().that().arePublic().should(new ArchCondition<>("expose no type of " + List.of(forbidden)
                + " in a public signature") {
            @Override
            public void check(JavaClass c, ConditionEvents events) {
                for (JavaCodeUnit u : c.getCodeUnits()) {
                    if (u.getModifiers().contains(JavaModifier.PUBLIC) && !u.getName().equals("<clinit>")) {
                        for (JavaClass t : u.getAllInvolvedRawTypes()) {
                            report(events, c, u.getFullName(), t);
                        }
                    }
                }
                for (JavaField f : c.getFields()) {
                    if (f.getModifiers().contains(JavaModifier.PUBLIC)) {
                        for (JavaClass t : f.getAllInvolvedRawTypes()) {
                            report(events, c, f.getFullName(), t);
                        }
                    }
                }
            }

            private void report(ConditionEvents events, JavaClass owner, String member, JavaClass type) {
                for (String prefix : forbidden) {
                    if (type.getPackageName().startsWith(prefix)) {
                        events.add(SimpleConditionEvent.violated(owner, member + " exposes " + type.getName()));
                    }
                }
            }
        }).check(classes);
    }
}
